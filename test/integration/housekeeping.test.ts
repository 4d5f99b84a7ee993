import pg from 'pg';
import { startHousekeeping, type Housekeeper } from '../../src/adapters/postgres/housekeeping';
import { migrate } from '../../src/adapters/postgres/migrator';
import { captureLogs } from '../support/logs';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * Table housekeeping where autovacuum does not run: the embedded database always, and this
 * machine's Postgres server (autovacuum = off). See src/adapters/postgres/housekeeping.ts.
 */
describe('table housekeeping', () => {
  let db: TestDatabase;
  let keeper: Housekeeper;
  const logs = captureLogs('debug');

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.pool);
    // The timer is not what is tested: passes run when the test asks.
    keeper = await startHousekeeping({ pool: db.pool, kind: db.kind, mode: 'on', logger: logs.logger, intervalMs: 3_600_000 });
  });
  afterAll(async () => {
    await keeper.stop();
    await db.close();
  });

  const stats = async (table: string) =>
    (
      await db.pool.query<{ reltuples: number; relpages: number; relallvisible: number }>(
        'select reltuples::float8 as reltuples, relpages, relallvisible from pg_class where relname = $1',
        [table],
      )
    ).rows[0];

  it('measures a table once it holds data, again once it has grown by a quarter, and not in between', async () => {
    await db.pool.query('create table hk_probe (id int primary key, body text not null)');
    expect(await keeper.runOnce()).not.toContain('hk_probe'); // empty: nothing to measure
    await db.pool.query("insert into hk_probe select g, repeat('x', 200) from generate_series(1, 2000) g");
    expect((await stats('hk_probe'))?.reltuples).toBe(-1); // never measured
    expect(await keeper.runOnce()).toContain('hk_probe');
    // Statistics (ANALYZE) and the visibility map, which only VACUUM sets.
    expect(await stats('hk_probe')).toMatchObject({ reltuples: 2000, relallvisible: expect.any(Number) });
    expect((await stats('hk_probe'))?.relallvisible).toBeGreaterThan(0);
    await db.pool.query("insert into hk_probe select g, repeat('x', 200) from generate_series(2001, 2100) g");
    expect(await keeper.runOnce()).toEqual([]); // 5 % more: not due
    await db.pool.query("insert into hk_probe select g, repeat('x', 200) from generate_series(2101, 4000) g");
    expect(await keeper.runOnce()).toEqual(['hk_probe']);
    expect(await stats('hk_probe')).toMatchObject({ reltuples: 4000 });
    expect(logs.lines().some((l) => l.table === 'hk_probe' && l.msg === 'table vacuumed and analyzed')).toBe(true);
  });

  it('fixes the plan of the foreign-key check every inbound message makes', async () => {
    // The check is Postgres's: SELECT 1 FROM conversations WHERE workspace_id = $1 AND id = $2
    // FOR KEY SHARE, planned once per connection, for any values, when the first message is
    // stored (the table nearly empty), and kept. That plan walked conversations_mode_idx (every
    // conversation of the workspace) for each message, slower and slower as the table grew.
    await db.pool.query("insert into workspaces (id, name) values ('ws_hk', 'HK')");
    await db.pool.query(
      `insert into phone_numbers (id, workspace_id, phone_number_id, waba_id, access_token_enc, app_secret_enc, verify_token_enc)
       values ('num_hk', 'ws_hk', '1000', '2000', 'v1.a', 'v1.b', 'v1.c')`,
    );
    const seed = async (from: number, to: number) => {
      await db.pool.query("insert into contacts (id, workspace_id, wa_id) select 'ct_' || g, 'ws_hk', '1555' || g from generate_series($1::int, $2::int) g", [from, to]);
      await db.pool.query(
        "insert into conversations (id, workspace_id, phone_number_id, contact_id) select 'conv_' || g, 'ws_hk', 'num_hk', 'ct_' || g from generate_series($1::int, $2::int) g",
        [from, to],
      );
    };
    // One session throughout, as a connection of the pool lives. (The embedded database has one
    // connection: it is handed back while the housekeeper works, and it is the same session.)
    await seed(1, 2);
    let session = await db.pool.connect();
    const handBack = async <T>(fn: () => Promise<T>) => {
      if (db.url) return fn();
      session.release();
      try {
        return await fn();
      } finally {
        session = await db.pool.connect();
      }
    };
    const plan = async () => (await session.query<{ 'QUERY PLAN': string }>("explain execute hk_fk('ws_hk', 'conv_1')")).rows.map((r) => r['QUERY PLAN']).join('\n');
    try {
      await session.query('set plan_cache_mode = force_generic_plan');
      await session.query('prepare hk_fk (text, text) as select 1 from only conversations x where workspace_id = $1 and id = $2 for key share of x');
      await plan();
      await handBack(() => seed(3, 3000));
      expect(await plan()).toContain('conversations_mode_idx');
      expect(await handBack(() => keeper.runOnce())).toEqual(expect.arrayContaining(['contacts', 'conversations']));
      // New statistics invalidate the cached plan; the next execution plans again.
      expect(await plan()).toContain('conversations_workspace_id_id_key');
    } finally {
      await session.query('deallocate hk_fk').catch(() => undefined);
      await session.query('reset plan_cache_mode');
      session.release();
    }
  });

  it('takes turns with other processes on a server (advisory lock)', async () => {
    if (!db.url) return; // the embedded database has one process
    await db.pool.query("insert into hk_probe select g, repeat('x', 200) from generate_series(4001, 9000) g");
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query("select pg_advisory_lock(hashtext('gateway.housekeeping'))");
      expect(await keeper.runOnce()).toEqual([]);
      await other.query("select pg_advisory_unlock(hashtext('gateway.housekeeping'))");
      expect(await keeper.runOnce()).toContain('hk_probe');
    } finally {
      await other.end();
    }
  });

  it('is off when told, and in auto mode only where autovacuum does not run', async () => {
    const off = await startHousekeeping({ pool: db.pool, kind: db.kind, mode: 'off', logger: logs.logger });
    expect(off.active).toBe(false);
    expect(await off.runOnce()).toEqual([]);
    await off.stop();
    const auto = await startHousekeeping({ pool: db.pool, kind: db.kind, mode: 'auto', logger: logs.logger, intervalMs: 3_600_000 });
    const autovacuum = db.kind === 'postgres' ? (await db.pool.query<{ v: string }>("select current_setting('autovacuum') as v")).rows[0]?.v : 'none';
    expect(auto.active).toBe(autovacuum !== 'on');
    await auto.stop();
  });
});
