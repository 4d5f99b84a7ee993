import type pg from 'pg';
import { withPipelinedTransaction, withTransaction } from '../../src/adapters/postgres/database';
import { createTestDatabase, type TestDatabase } from '../support/database';

// withPipelinedTransaction sends BEGIN with the transaction's first statement: one round trip
// fewer than withTransaction, and the same transaction. Runs on PGlite and, in CI, on Postgres.
describe('withPipelinedTransaction', () => {
  let db: TestDatabase;
  /** Round trips: every query, whatever its messages, ends with one ReadyForQuery. */
  let roundTrips = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table pipelined (id int primary key, note text)');
    db.pool.on('acquire', (client) => {
      const connection = (client as unknown as { connection: { listeners(e: string): unknown[]; on(e: string, f: () => void): void } }).connection;
      if (!connection.listeners('readyForQuery').some((l) => (l as { counts?: boolean }).counts)) {
        const count = Object.assign(() => void roundTrips++, { counts: true });
        connection.on('readyForQuery', count);
      }
    });
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.pool.query('truncate pipelined');
    roundTrips = 0;
  });

  const rows = async () => (await db.pool.query<{ id: number; note: string | null }>('select id, note from pipelined order by id')).rows;

  it('runs the first statement inside the transaction it opens, in one round trip', async () => {
    const txids = await withPipelinedTransaction(db.pool, async (q) => {
      const first = await q.query<{ x: string }>('insert into pipelined (id, note) values ($1, $2) returning txid_current()::text as x', [1, 'a']);
      const second = await q.query<{ x: string }>('select txid_current()::text as x');
      return [first.rows[0]?.x, second.rows[0]?.x];
    });
    expect(txids[0]).toBeDefined();
    expect(txids[0]).toBe(txids[1]);
    // begin + insert, select, commit.
    expect(roundTrips).toBe(3);

    roundTrips = 0;
    await withPipelinedTransaction(db.pool, async (q) => q.query('insert into pipelined (id, note) values ($1, $2)', [2, 'b']));
    expect(roundTrips).toBe(2);
    roundTrips = 0;
    await withTransaction(db.pool, async (c) => c.query('insert into pipelined (id, note) values ($1, $2)', [3, 'c']));
    // begin, insert, commit: one more.
    expect(roundTrips).toBe(3);
    expect((await rows()).map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it('a failure after the first statement rolls it back', async () => {
    await expect(
      withPipelinedTransaction(db.pool, async (q) => {
        await q.query('insert into pipelined (id, note) values ($1, $2)', [1, 'a']);
        throw new Error('something later failed');
      }),
    ).rejects.toThrow('something later failed');
    expect(await rows()).toEqual([]);
  });

  it('a first statement that fails rejects with its error and leaves the connection clean', async () => {
    await db.pool.query("insert into pipelined (id, note) values (1, 'kept')");
    await expect(
      withPipelinedTransaction(db.pool, async (q) => {
        await q.query('insert into pipelined (id, note) values ($1, $2)', [1, 'duplicate']);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    // The pool's connections are usable (no "current transaction is aborted") and nothing changed.
    for (let i = 0; i < 3; i++) await expect(db.pool.query('select 1')).resolves.toBeDefined();
    expect(await rows()).toEqual([{ id: 1, note: 'kept' }]);
  });

  it('takes a first statement without values, and a query config with a name', async () => {
    await withPipelinedTransaction(db.pool, async (q) => {
      await q.query('insert into pipelined (id) select 5');
      await q.query({ name: 'pipelined-insert', text: 'insert into pipelined (id, note) values ($1, $2)', values: [6, 'named'] } as pg.QueryConfig);
    });
    await withPipelinedTransaction(db.pool, async (q) => {
      await q.query({ name: 'pipelined-insert', text: 'insert into pipelined (id, note) values ($1, $2)', values: [7, 'named again'] } as pg.QueryConfig);
    });
    expect(await rows()).toEqual([
      { id: 5, note: null },
      { id: 6, note: 'named' },
      { id: 7, note: 'named again' },
    ]);
  });

  it('applies setLocal to its own transaction only, in the same round trip', async () => {
    const inside = await withPipelinedTransaction(
      db.pool,
      async (q) => {
        const first = await q.query<{ mode: string }>('insert into pipelined (id) values ($1) returning current_setting($2) as mode', [1, 'plan_cache_mode']);
        const later = await q.query<{ mode: string }>("select current_setting('plan_cache_mode') as mode");
        return [first.rows[0]?.mode, later.rows[0]?.mode];
      },
      { setLocal: { plan_cache_mode: 'force_generic_plan' } },
    );
    expect(inside).toEqual(['force_generic_plan', 'force_generic_plan']);
    // begin + set + insert, select, commit.
    expect(roundTrips).toBe(3);
    // The pool's connections are back to the server's setting.
    for (let i = 0; i < 3; i++) expect((await db.pool.query<{ mode: string }>("select current_setting('plan_cache_mode') as mode")).rows[0]?.mode).toBe('auto');
    await expect(withPipelinedTransaction(db.pool, async () => 1, { setLocal: { 'plan_cache_mode; drop table pipelined': 'auto' } })).rejects.toThrow('not a setting');
  });

  it('a transaction that sends no statement sends nothing', async () => {
    await expect(withPipelinedTransaction(db.pool, async () => 'nothing to do')).resolves.toBe('nothing to do');
    expect(roundTrips).toBe(0);
  });
});
