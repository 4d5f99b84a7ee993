import type pg from 'pg';
import { createLogger } from '../../lib/logger';
import { isDue, startHousekeeping } from './housekeeping';

describe('housekeeping: when a table is due', () => {
  it('is due once it holds data never measured, then after growing by a quarter and 16 pages', () => {
    expect(isDue({ relpages: 0, reltuples: -1, pages: 0 })).toBe(false);
    expect(isDue({ relpages: 0, reltuples: -1, pages: 1 })).toBe(true);
    expect(isDue({ relpages: 1, reltuples: 20, pages: 16 })).toBe(false);
    expect(isDue({ relpages: 1, reltuples: 20, pages: 17 })).toBe(true);
    expect(isDue({ relpages: 1000, reltuples: 9e4, pages: 1249 })).toBe(false);
    expect(isDue({ relpages: 1000, reltuples: 9e4, pages: 1250 })).toBe(true);
    // A table that shrank (truncate, rewrite) waits for growth.
    expect(isDue({ relpages: 1000, reltuples: 9e4, pages: 10 })).toBe(false);
  });
});

describe('housekeeping: a table it cannot vacuum', () => {
  it('is reported once and skipped from then on', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (s: string) => lines.push(s) } as never });
    const statements: string[] = [];
    const client = {
      query: async (text: string) => {
        statements.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
        if (text.startsWith('select c.relname')) return { rows: [{ name: 'locked_down', relpages: 0, reltuples: -1, pages: 5 }] };
        if (text.startsWith('vacuum')) throw new Error('permission denied for table locked_down');
        return { rows: [] };
      },
      release: () => undefined,
    };
    const pool = { connect: async () => client, query: client.query } as unknown as pg.Pool;
    const keeper = await startHousekeeping({ pool, kind: 'pglite', mode: 'auto', logger, intervalMs: 3_600_000 });
    expect(keeper.active).toBe(true);
    expect(await keeper.runOnce()).toEqual([]);
    expect(await keeper.runOnce()).toEqual([]);
    await keeper.stop();
    expect(statements.filter((s) => s.startsWith('vacuum'))).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('permission denied');
  });

  it('stays idle on a server whose autovacuum runs', async () => {
    const pool = { query: async () => ({ rows: [{ autovacuum: 'on', track_counts: 'on' }] }) } as unknown as pg.Pool;
    const keeper = await startHousekeeping({ pool, kind: 'postgres', mode: 'auto', logger: createLogger({ level: 'silent' }) });
    expect(keeper.active).toBe(false);
    expect(await keeper.runOnce()).toEqual([]);
    await keeper.stop();
  });
});
