import pg from 'pg';
import { defaultMigrationsDir, migrate } from '../../src/adapters/postgres/migrator';
import { createWebhooksRepo } from '../../src/adapters/postgres/webhooks.repo';
import { newId } from '../../src/lib/ids';
import { createTestDatabase, usingServer, type TestDatabase } from '../support/database';

/**
 * An endpoint deleted while one of its attempts is being recorded. The DELETE locks the
 * endpoint's row, then its deliveries' (by cascade); recording an attempt must take them in the
 * same order, or the two deadlock and one of them fails (a 500 on DELETE /v1/webhooks/:id).
 * Needs a second session on the same database: a Postgres server (TEST_DATABASE_URL).
 */
const onServer = usingServer() ? describe : describe.skip;

onServer('webhook attempts and endpoint deletion', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.pool, defaultMigrationsDir());
  });
  afterAll(async () => {
    await db.close();
  });

  it('an endpoint deleted during a recorded attempt: the delete succeeds, the attempt is dropped', async () => {
    const repo = createWebhooksRepo(db.pool);
    const workspaceId = newId('workspace');
    await db.pool.query('insert into workspaces (id, name) values ($1, $2)', [workspaceId, 'Lock order']);
    const endpoint = await repo.createEndpoint({
      id: newId('webhookEndpoint'),
      workspaceId,
      url: 'https://example.com/hook',
      events: ['*'],
      description: null,
      active: true,
      secretEnc: 'v1.not-used-here',
    });
    const delivery = await repo.createTestDelivery(workspaceId, endpoint.id, { ping: true });

    // Another session holds the endpoint's row (as a DELETE has, before its cascade) ...
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('set local lock_timeout = 5000');
      await other.query('select 1 from webhook_endpoints where id = $1 for update', [endpoint.id]);
      // ... while an attempt is recorded: it must wait for that row before touching the delivery.
      const recording = repo.recordAttempt(
        { workspaceId, deliveryId: delivery.id, attempt: 0 },
        { status: 'failed', statusCode: 500, latencyMs: 5, excerpt: null, error: 'HTTP 500', nextAttemptAt: null, failed: true },
        { disable: null, failingCutoff: new Date(0) },
      );
      await new Promise((r) => setTimeout(r, 300));
      // The cascade reaches the delivery: with the attempt holding it and waiting for the
      // endpoint, this was a deadlock.
      await other.query('delete from webhook_endpoints where id = $1', [endpoint.id]);
      await other.query('commit');
      await expect(recording).resolves.toEqual({ recorded: false, disabled: false });
    } finally {
      await other.query('rollback').catch(() => undefined);
      await other.end();
    }
    expect((await db.pool.query('select 1 from webhook_deliveries where id = $1', [delivery.id])).rowCount).toBe(0);
  });
});
