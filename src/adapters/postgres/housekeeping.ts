import type pg from 'pg';
import type { Logger } from '../../lib/logger';

/**
 * Table housekeeping where nothing else does it. Postgres plans every query from table
 * statistics that autovacuum keeps fresh, and autovacuum is also what reclaims dead row versions.
 * The embedded database (PGlite) has no autovacuum, and a server may run with it turned off.
 * Without statistics the planner guesses, and some guesses are ruinous: the foreign-key check of
 * every new message walked the workspace's whole conversations_mode_idx instead of the unique
 * (workspace_id, id) index, so each insert got slower as the table grew (measured: the database's
 * CPU per webhook delivery doubled by 20,000 messages). And an update-heavy table (conversations,
 * events) only grows.
 *
 * The housekeeper does what autovacuum would, by table size, because the embedded database keeps
 * no activity counters: a table holding data that was never measured, or that has grown by a
 * quarter (and at least 16 pages) since Postgres last measured it, gets `VACUUM (ANALYZE)`, which
 * reclaims dead versions and refreshes the statistics and the recorded size. Growth is geometric,
 * so the work adds up to a few passes over each table's final size. On a server, processes take
 * turns through an advisory lock.
 */
export type HousekeepingMode = 'auto' | 'on' | 'off';

export interface Housekeeper {
  /** Whether it works here (mode `on`, or `auto` where autovacuum does not run). */
  readonly active: boolean;
  /** One pass: vacuums and analyzes every table that is due; returns their names. */
  runOnce(): Promise<string[]>;
  /** Stops the schedule and waits for a pass under way. */
  stop(): Promise<void>;
}

const LOCK_KEY = 'gateway.housekeeping';
const GROWTH = 1.25;
const MIN_GROWTH_PAGES = 16;

interface TableSize {
  name: string;
  relpages: number;
  reltuples: number;
  pages: number;
}

/** Due: holds data never measured, or grew by a quarter and at least 16 pages since. */
export function isDue(t: Pick<TableSize, 'relpages' | 'reltuples' | 'pages'>): boolean {
  if (t.pages === 0) return false;
  if (t.reltuples < 0) return true;
  return t.pages >= Math.max(t.relpages * GROWTH, t.relpages + MIN_GROWTH_PAGES);
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function startHousekeeping(deps: {
  pool: pg.Pool;
  kind: 'postgres' | 'pglite';
  mode: HousekeepingMode;
  logger: Logger;
  intervalMs?: number;
}): Promise<Housekeeper> {
  const { pool, logger } = deps;
  let active = deps.mode === 'on';
  if (deps.mode === 'auto') {
    if (deps.kind === 'pglite') active = true;
    else {
      const { rows } = await pool.query<{ autovacuum: string; track_counts: string }>(
        "select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as track_counts",
      );
      active = rows[0]?.autovacuum !== 'on' || rows[0]?.track_counts !== 'on';
    }
  }
  // Tables whose vacuum failed (no privilege, say) are skipped from then on, said once.
  const failed = new Set<string>();
  let running: Promise<string[]> | undefined;

  async function pass(): Promise<string[]> {
    const client = await pool.connect();
    let locked = false;
    try {
      if (deps.kind === 'postgres') {
        const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [LOCK_KEY]);
        locked = rows[0]?.locked === true;
        if (!locked) return [];
      }
      const { rows } = await client.query<TableSize>(
        `select c.relname as name, c.relpages, c.reltuples::float8 as reltuples,
                (pg_relation_size(c.oid) / current_setting('block_size')::int)::int as pages
           from pg_class c
          where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'`,
      );
      const done: string[] = [];
      for (const t of rows) {
        if (!isDue(t) || failed.has(t.name)) continue;
        const started = Date.now();
        try {
          await client.query(`vacuum (analyze) ${quoteIdent(t.name)}`);
          done.push(t.name);
          logger.debug({ table: t.name, pages: t.pages, ms: Date.now() - started }, 'table vacuumed and analyzed');
        } catch (e) {
          failed.add(t.name);
          logger.warn({ table: t.name, err: { message: (e as Error).message } }, 'could not vacuum a table; housekeeping skips it');
        }
      }
      return done;
    } finally {
      if (locked) await client.query('select pg_advisory_unlock(hashtext($1))', [LOCK_KEY]).catch(() => undefined);
      client.release();
    }
  }

  function runOnce(): Promise<string[]> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  let timer: NodeJS.Timeout | undefined;
  if (active) {
    timer = setInterval(() => {
      runOnce().catch((e: Error) => logger.warn({ err: { message: e.message } }, 'table housekeeping failed (will retry)'));
    }, deps.intervalMs ?? 2_000);
    timer.unref();
  }
  return {
    active,
    runOnce: () => (active ? runOnce() : Promise.resolve([])),
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
