import { INGRESS_BATCH_SQL } from '../../src/adapters/postgres/inbound-batch';
import { migrate } from '../../src/adapters/postgres/migrator';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * The ingress statement is a named statement: after a few executions Postgres keeps one generic
 * plan per connection, made with the statistics of that moment (a new deployment: empty tables,
 * never measured). The retry lookup (`dup`) once joined the whole messages table in that plan,
 * so every group commit read every stored message. Whatever the statistics, it must only probe
 * the unique index.
 */
describe('the ingress statement plan', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.pool);
  });
  afterAll(async () => {
    await db.close();
  });

  it('never scans the messages table, even planned generically on empty tables', async () => {
    const session = await db.pool.connect();
    try {
      await session.query('set plan_cache_mode = force_generic_plan');
      await session.query(`prepare ingress_probe as ${INGRESS_BATCH_SQL}`);
      const plan = (await session.query<{ 'QUERY PLAN': string }>(`explain execute ingress_probe(${Array(34).fill('null').join(', ')})`)).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      expect(plan).toContain('Insert on messages');
      expect(plan).not.toMatch(/Seq Scan on messages/);
      expect(plan).toMatch(/Index Scan using messages_phone_number_id_wamid_key on messages/);
    } finally {
      await session.query('deallocate all').catch(() => undefined);
      await session.query('reset plan_cache_mode');
      session.release();
    }
  });
});
