import type { Express } from 'express';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { SCOPES } from '../../src/domain/keys/scopes';
import { APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload } from '../support/meta';
import { startPrivateRedis, type PrivateRedis } from '../support/redis-server';
import { startWebhookReceiver, waitFor, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * A real Redis restart (SIGKILL, no persistence: every job and pub/sub subscriber is gone)
 * between an event and its delivery. The outbox and the deliveries are in Postgres; the
 * dispatcher and the sweeper drive them on once Redis is back.
 */
describe('webhook delivery across a Redis restart', () => {
  let f: IngressFixture;
  let rx: WebhookReceiver;
  let redis: PrivateRedis;
  let key: string;
  const app = () => f.rt.app as Express;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    rx = await startWebhookReceiver();
    f = await createIngressFixture(
      {
        REDIS_URL: redis.url,
        ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
        ALLOW_INSECURE_WEBHOOKS: 'true',
        // The retry after the first failure waits in Redis long enough for the restart.
        WEBHOOK_RETRY_SCHEDULE: '3s,3s,3s',
        WEBHOOK_TIMEOUT_MS: '1000',
        EVENT_DISPATCH_INTERVAL_MS: '50',
      },
      { workers: true },
    );
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'hooks', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });

  afterAll(async () => {
    await redis.start().catch(() => undefined);
    await f.rt.teardown();
    await rx.close();
    await redis.stop();
  });

  it('an event whose retry was waiting in Redis, and events written while Redis was down, are all delivered once it is back, once each', async () => {
    const res = await request(app())
      .post('/v1/webhooks')
      .set({ Authorization: `Bearer ${key}` })
      .send({ url: rx.url('/hook'), events: ['message.received', 'conversation.takeover'] })
      .expect(201);
    const secret = res.body.secret as string;
    const endpointId = res.body.id as string;
    rx.answer((path, nth) => (path === '/hook' && nth === 1 ? { status: 503 } : { status: 200, body: 'ok' }));

    await postSigned(app(), textPayload({ from: '16505551234', body: 'before the restart' }), APP_SECRET).expect(200);
    const first = await waitFor('the first, failed attempt', () => rx.to('/hook')[0], 20_000);
    const firstId = first.headers['webhook-id'];
    // Its retry is now a delayed job in Redis.
    await waitFor('the retry scheduled', async () => {
      const rows = await f.rows<{ attempts: number; status: string }>('select attempts, status from webhook_deliveries where endpoint_id = $1', [endpointId]);
      return rows[0]?.attempts === 1 && rows[0].status === 'pending';
    });

    await redis.stop();
    // While Redis is down: Meta's delivery is stored but its agent job cannot be queued (503, so
    // Meta retries), and an API action that writes only to Postgres emits its event; both events
    // are in the outbox only.
    await postSigned(app(), textPayload({ from: '16505559999', body: 'during the outage' }), APP_SECRET).expect(503);
    const [conv] = await f.rows<{ id: string }>('select id from conversations order by created_at limit 1');
    await request(app())
      .post(`/v1/conversations/${conv?.id}/takeover`)
      .set({ Authorization: `Bearer ${key}` })
      .send({ agent: { id: 'agent-7', name: 'Ana' } })
      .expect(200);
    await new Promise((r) => setTimeout(r, 500));
    await redis.start(); // empty: no jobs, no delayed retry

    const received = await waitFor(
      'both events delivered after the restart',
      () => {
        const bodies = rx.to('/hook').map((r) => ({ r, body: new Webhook(secret).verify(r.body, r.headers) as { id: string; type: string } }));
        const retried = bodies.filter((b) => b.r.headers['webhook-id'] === firstId);
        const takeover = bodies.filter((b) => b.body.type === 'conversation.takeover');
        const outage = bodies.filter((b) => b.body.type === 'message.received' && b.r.body.includes('during the outage'));
        return retried.length >= 2 && takeover.length >= 1 && outage.length >= 1 ? { retried, takeover } : undefined;
      },
      45_000,
    );
    expect(received.retried[1]?.body.type).toBe('message.received');
    expect(received.takeover[0]?.body.id).toBe(received.takeover[0]?.r.headers['webhook-id']);

    await waitFor('every delivery succeeded', async () => {
      const rows = await f.rows<{ status: string }>('select status from webhook_deliveries where endpoint_id = $1', [endpointId]);
      return rows.length === 3 && rows.every((r) => r.status === 'succeeded');
    }, 20_000);
    // Nothing delivered twice once it had succeeded: one success per event.
    await new Promise((r) => setTimeout(r, 1_000));
    const ids = rx.to('/hook').map((r) => r.headers['webhook-id']);
    expect(ids.filter((id) => id === firstId)).toHaveLength(2); // the failed attempt and the one that succeeded
    expect(ids.filter((id) => id !== firstId)).toHaveLength(2);
    expect(new Set(ids).size).toBe(3);
  }, 120_000);
});
