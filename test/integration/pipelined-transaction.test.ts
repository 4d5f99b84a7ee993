import type pg from 'pg';
import { withPipelinedTransaction, withTransaction } from '../../src/adapters/postgres/database';
import { createTestDatabase, type TestDatabase } from '../support/database';

// withPipelinedTransaction sends BEGIN with the transaction's first statement, and COMMIT with its
// last one when asked (commitWith): up to two round trips fewer than withTransaction, and the same
// transaction. Runs on PGlite and, in CI, on Postgres.
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
  /** The pool's connections are usable: no "current transaction is aborted", no open transaction. */
  const connectionsAreClean = async () => {
    for (let i = 0; i < 3; i++) await expect(db.pool.query('select 1')).resolves.toBeDefined();
  };
  /** Two inserts, the second with the COMMIT; the transaction must fail with a unique violation. */
  const insertThenCommitWith = (first: [number, string], last: [number, string]) =>
    expect(
      withPipelinedTransaction(db.pool, async (tx) => {
        await tx.query('insert into pipelined (id, note) values ($1, $2)', first);
        await tx.commitWith({ text: 'insert into pipelined (id, note) values ($1, $2)', values: last });
      }),
    ).rejects.toMatchObject({ code: '23505' });

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
    await connectionsAreClean();
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

  describe('commitWith', () => {
    it('runs the last statement and the COMMIT in the same round trip', async () => {
      const txids = await withPipelinedTransaction(db.pool, async (tx) => {
        const first = await tx.query<{ x: string }>('insert into pipelined (id, note) values ($1, $2) returning txid_current()::text as x', [1, 'a']);
        const last = await tx.commitWith<{ x: string; n: number }>({
          text: 'insert into pipelined (id, note) values ($1, $2) returning txid_current()::text as x, (select count(*)::int from pipelined) as n',
          values: [2, 'b'],
        });
        return [first.rows[0]?.x, last.rows[0]?.x, last.rows[0]?.n];
      });
      // One transaction, which saw its own first row; committed without a round trip of its own.
      expect(txids[0]).toBeDefined();
      expect(txids[1]).toBe(txids[0]);
      expect(txids[2]).toBe(1);
      // begin + insert, insert + commit.
      expect(roundTrips).toBe(2);
      expect((await rows()).map((r) => r.id)).toEqual([1, 2]);
    });

    it('is the whole transaction in one round trip when it is the only statement', async () => {
      const result = await withPipelinedTransaction(
        db.pool,
        async (tx) => tx.commitWith<{ mode: string }>({ text: 'insert into pipelined (id, note) values ($1, $2) returning current_setting($3) as mode', values: [1, 'a', 'plan_cache_mode'] }),
        { setLocal: { plan_cache_mode: 'force_generic_plan' } },
      );
      expect(result.rows).toEqual([{ mode: 'force_generic_plan' }]);
      expect(roundTrips).toBe(1);
      expect(await rows()).toEqual([{ id: 1, note: 'a' }]);
      // Committed: the connection is outside any transaction, with the server's setting back.
      expect((await db.pool.query<{ mode: string }>("select current_setting('plan_cache_mode') as mode")).rows[0]?.mode).toBe('auto');
    });

    it('a last statement that fails commits nothing of the transaction', async () => {
      await db.pool.query("insert into pipelined (id, note) values (9, 'kept')");
      await insertThenCommitWith([1, 'a'], [9, 'duplicate']);
      await connectionsAreClean();
      expect(await rows()).toEqual([{ id: 9, note: 'kept' }]);
    });

    it('a failing COMMIT (a deferred check) rolls everything back', async () => {
      await db.pool.query('alter table pipelined add constraint note_unique unique (note) deferrable initially deferred');
      try {
        await insertThenCommitWith([1, 'same'], [2, 'same']);
        await connectionsAreClean();
        expect(await rows()).toEqual([]);
      } finally {
        await db.pool.query('alter table pipelined drop constraint note_unique');
      }
    });

    it('values that cannot be sent fail before anything runs', async () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(
        withPipelinedTransaction(db.pool, async (tx) => tx.commitWith({ text: 'insert into pipelined (id, note) values ($1, $2)', values: [1, circular] })),
      ).rejects.toThrow();
      await connectionsAreClean();
      expect(await rows()).toEqual([]);
    });

    it('refuses statements after it', async () => {
      await expect(
        withPipelinedTransaction(db.pool, async (tx) => {
          await tx.commitWith({ text: 'insert into pipelined (id) values ($1)', values: [1] });
          await tx.query('insert into pipelined (id) values (2)');
        }),
      ).rejects.toThrow('committed with its last statement');
      // What it committed stays.
      expect((await rows()).map((r) => r.id)).toEqual([1]);
    });
  });
});
