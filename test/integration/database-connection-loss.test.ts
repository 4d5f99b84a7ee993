import pg from 'pg';
import { createDatabase } from '../../src/adapters/postgres/database';
import { createTestDatabase, usingServer, type TestDatabase } from '../support/database';

/**
 * A Postgres server that drops a connection the gateway holds between two queries (the
 * conversation lock is held through the model call) must not end the process: the fault tests
 * saw a worker die of an unhandled 'error' event when its connections were cut. Only a server
 * has connections to lose.
 */
(usingServer() ? describe : describe.skip)('losing a checked-out database connection', () => {
  let db: TestDatabase;
  const errors: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('is reported to onError and fails the next query, without an uncaught exception', async () => {
    // The gateway's own pool, with a recording onError.
    const pooled = await createDatabase({ url: db.url, poolMax: 2, onError: (e) => errors.push(e.message) });
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const held = await pooled.pool.connect();
      const { rows } = await held.query<{ pid: number }>('select pg_backend_pid() as pid');
      // Another session ends this one while it sits idle between two queries.
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
      await admin.end();
      await new Promise((r) => setTimeout(r, 300));
      expect(errors.length).toBeGreaterThanOrEqual(1);
      await expect(held.query('select 1')).rejects.toThrow();
      held.release(true);
      // The pool goes on with a new connection.
      expect((await pooled.pool.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pooled.close();
    }
  });
});
