import type { Express } from 'express';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { parseEventData } from '../../src/domain/events/catalog';
import { SCOPES } from '../../src/domain/keys/scopes';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload } from '../support/meta';
import { startWebhookReceiver, waitFor, type Received, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * Signed delivery end to end: outbox -> dispatcher (durable fan-out) -> queue "webhooks" ->
 * worker -> a receiver on 127.0.0.1 that verifies with the standardwebhooks package.
 */
const SCHEDULE = [200, 400, 600];

interface Body {
  id: string;
  type: string;
  created_at: string;
  workspace_id: string;
  data: Record<string, unknown>;
}

describe('webhook delivery', () => {
  let f: IngressFixture;
  let rx: WebhookReceiver;
  let key: string;
  let customer = 16505580000;
  const app = () => f.rt.app as Express;
  const auth = () => ({ Authorization: `Bearer ${key}` });
  const secrets: string[] = [];

  const register = async (path: string, events: string[]) => {
    const res = await request(app()).post('/v1/webhooks').set(auth()).send({ url: rx.url(path), events }).expect(201);
    secrets.push(res.body.secret);
    return res.body as { id: string; secret: string };
  };
  const verify = (r: Received, secret: string) => new Webhook(secret).verify(r.body, r.headers) as Body;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- API JSON read by the assertions
  const deliveries = async (id: string) => (await request(app()).get(`/v1/webhooks/${id}/deliveries`).set(auth()).expect(200)).body.data as Record<string, any>[];

  beforeAll(async () => {
    rx = await startWebhookReceiver();
    f = await createIngressFixture(
      {
        ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
        ALLOW_INSECURE_WEBHOOKS: 'true',
        WEBHOOK_RETRY_SCHEDULE: SCHEDULE.map((ms) => `${ms}ms`).join(','),
        WEBHOOK_TIMEOUT_MS: '1000',
        EVENT_DISPATCH_INTERVAL_MS: '20',
      },
      { workers: true },
    );
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'hooks', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });

  afterAll(async () => {
    await f.rt.teardown();
    await rx.close();
  });

  it('delivers message.received signed (Standard Webhooks), only to subscribed endpoints, and records the delivery', async () => {
    const ep = await register('/inbound', ['message.received', 'conversation.created']);
    const other = await register('/sent-only', ['message.sent']);
    const waId = String(++customer);
    await postSigned(app(), textPayload({ from: waId, body: 'hello webhooks' }), APP_SECRET).expect(200);
    await waitFor('two deliveries', () => rx.to('/inbound').length >= 2);
    const bodies = rx.to('/inbound').map((r) => verify(r, ep.secret));
    expect(bodies.map((b) => b.type).sort()).toEqual(['conversation.created', 'message.received']);
    const received = bodies.find((b) => b.type === 'message.received') as Body;
    expect(Object.keys(received).sort()).toEqual(expect.arrayContaining(['created_at', 'data', 'id', 'type', 'workspace_id']));
    expect(received.workspace_id).toBe(f.workspaceId);
    expect((received.data.message as { content: { text: string } }).content.text).toBe('hello webhooks');
    expect(() => parseEventData(received.type, received.data)).not.toThrow();
    // webhook-id is the event id (the outbox row), which receivers dedupe on.
    const r = rx.to('/inbound').find((x) => JSON.parse(x.body).type === 'message.received') as Received;
    expect(r.headers['webhook-id']).toBe(received.id);
    expect((await f.rows('select 1 from events where id = $1', [received.id])).length).toBe(1);
    expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(() => new Webhook(other.secret).verify(r.body, r.headers)).toThrow();
    expect(rx.to('/sent-only')).toHaveLength(0);

    const list = await waitFor('succeeded deliveries', async () => {
      const d = await deliveries(ep.id);
      return d.length === 2 && d.every((x) => x.status === 'succeeded') && d;
    });
    expect(list[0]).toMatchObject({ object: 'webhook_delivery', endpoint_id: ep.id, attempts: 1, next_attempt_at: null, last_attempt: { status_code: 200, response: 'ok', error: null } });
    expect(list[0]?.last_attempt.latency_ms).toEqual(expect.any(Number));
    expect(await deliveries(other.id)).toEqual([]);
  });

  it('retries a failing endpoint on the schedule with the same webhook-id and a fresh signature, and stops at the first 2xx', async () => {
    const ep = await register('/flaky', ['template.status_updated']);
    rx.answer((path, nth) => (path === '/flaky' && nth <= 3 ? { status: 500, body: 'x'.repeat(3000) } : { status: 200, body: 'ok' }));
    const ping = await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    expect(ping.body).toMatchObject({ object: 'webhook_delivery', event_type: 'webhook.test', status: 'pending', attempts: 0 });
    await waitFor('the fourth attempt', () => rx.to('/flaky').length >= 4);
    await waitFor('success recorded', async () => (await deliveries(ep.id))[0]?.status === 'succeeded');
    await new Promise((r) => setTimeout(r, SCHEDULE[2] as number));
    const attempts = rx.to('/flaky');
    expect(attempts).toHaveLength(4);
    const ids = new Set(attempts.map((a) => a.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(new Set(attempts.map((a) => a.headers['webhook-signature'])).size).toBeGreaterThan(1);
    for (const a of attempts) expect(verify(a, ep.secret).type).toBe('webhook.test');
    // The gaps follow the schedule (±10% jitter, plus queue latency).
    attempts.slice(1).forEach((a, i) => expect(a.at - (attempts[i] as Received).at).toBeGreaterThanOrEqual((SCHEDULE[i] as number) * 0.85));
    const [d] = await deliveries(ep.id);
    expect(d).toMatchObject({ id: ping.body.id, status: 'succeeded', attempts: 4, last_attempt: { status_code: 200 } });
  });

  it('keeps the first KB of a failed answer, records the next attempt, and gives up after the last one', async () => {
    const ep = await register('/down', ['template.status_updated']);
    rx.answer((path) => (path === '/down' ? { status: 503, body: 'y'.repeat(5000) } : { status: 200, body: 'ok' }));
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const pending = await waitFor('a failed attempt', async () => {
      const d = (await deliveries(ep.id))[0];
      return d?.attempts === 1 && d;
    });
    expect(pending.status).toBe('pending');
    expect(pending.last_attempt).toMatchObject({ status_code: 503, error: 'HTTP 503' });
    expect(pending.last_attempt.response).toHaveLength(1024);
    expect(Date.parse(pending.next_attempt_at)).toBeGreaterThan(Date.parse(pending.last_attempt.at));
    const done = await waitFor('exhausted', async () => {
      const d = (await deliveries(ep.id))[0];
      return d?.status === 'exhausted' && d;
    });
    expect(done.attempts).toBe(SCHEDULE.length + 1);
    expect(done.next_attempt_at).toBeNull();
    expect(rx.to('/down')).toHaveLength(SCHEDULE.length + 1);
  });

  it('disables an endpoint that answers 410, and tells the other subscribers with webhook.endpoint_disabled', async () => {
    const watcher = await register('/watcher', ['webhook.endpoint_disabled']);
    const ep = await register('/gone', ['template.status_updated']);
    rx.answer((path) => (path === '/gone' ? { status: 410 } : { status: 200, body: 'ok' }));
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const notice = await waitFor('the endpoint_disabled event', () => rx.to('/watcher')[0]);
    const body = verify(notice, watcher.secret);
    expect(body.type).toBe('webhook.endpoint_disabled');
    expect(body.data).toMatchObject({ endpoint: { id: ep.id, active: false, disabled_reason: 'gone' }, reason: 'gone' });
    expect(() => parseEventData(body.type, body.data)).not.toThrow();
    expect(JSON.stringify(body)).not.toContain('whsec_');
    const got = await request(app()).get(`/v1/webhooks/${ep.id}`).set(auth()).expect(200);
    expect(got.body).toMatchObject({ active: false, disabled_reason: 'gone' });
    expect((await deliveries(ep.id))[0]).toMatchObject({ status: 'failed', attempts: 1, last_attempt: { status_code: 410 } });
    expect(rx.to('/gone')).toHaveLength(1);
    // Disabled: no test, no redelivery until it is enabled again.
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(409);
    const enabled = await request(app()).patch(`/v1/webhooks/${ep.id}`).set(auth()).send({ active: true }).expect(200);
    expect(enabled.body).toMatchObject({ active: true, disabled_reason: null, disabled_at: null, failing_since: null });
  });

  it('disables an endpoint that has been failing for 5 days at its next failure', async () => {
    const ep = await register('/failing', ['template.status_updated']);
    rx.answer((path) => (path === '/failing' ? { status: 500 } : { status: 200, body: 'ok' }));
    await f.rows(`update webhook_endpoints set failing_since = now() - interval '5 days 1 minute' where id = $1`, [ep.id]);
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const e = await waitFor('disabled', async () => (await request(app()).get(`/v1/webhooks/${ep.id}`).set(auth())).body.active === false && (await request(app()).get(`/v1/webhooks/${ep.id}`).set(auth())).body);
    expect(e.disabled_reason).toBe('failing');
    const events = await f.rows<{ data: { reason: string; endpoint: { id: string } } }>(`select data from events where type = 'webhook.endpoint_disabled'`);
    expect(events.map((x) => [x.data.endpoint.id, x.data.reason])).toContainEqual([ep.id, 'failing']);
    // Nothing more is sent to a disabled endpoint: the pending retry ends as failed.
    await waitFor('the delivery to fail', async () => (await deliveries(ep.id))[0]?.status === 'failed');
    expect(rx.to('/failing')).toHaveLength(1);
  });

  it('signs with both secrets for 24 h after a rotation, then with the new one only', async () => {
    const ep = await register('/rotating', ['template.status_updated']);
    const rotated = await request(app()).post(`/v1/webhooks/${ep.id}/rotate-secret`).set(auth()).expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    secrets.push(rotated.body.secret);
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const first = await waitFor('the ping', () => rx.to('/rotating')[0]);
    expect(first.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verify(first, ep.secret).type).toBe('webhook.test');
    expect(verify(first, rotated.body.secret).type).toBe('webhook.test');
    // The overlap is over.
    await f.rows(`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = $1`, [ep.id]);
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const second = await waitFor('the second ping', () => rx.to('/rotating')[1]);
    expect(second.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(verify(second, rotated.body.secret).type).toBe('webhook.test');
    expect(() => verify(second, ep.secret)).toThrow();
  });

  it('redelivers a delivery on request, with the same webhook-id', async () => {
    const ep = await register('/again', ['template.status_updated']);
    const ping = await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    await waitFor('the delivery', async () => (await deliveries(ep.id))[0]?.status === 'succeeded');
    const again = await request(app()).post(`/v1/webhooks/${ep.id}/deliveries/${ping.body.id}/redeliver`).set(auth()).expect(202);
    expect(again.body).toMatchObject({ id: ping.body.id, status: 'pending', attempts: 1 });
    await waitFor('the redelivery', () => rx.to('/again').length === 2);
    const [a, b] = rx.to('/again') as [Received, Received];
    expect(b.headers['webhook-id']).toBe(a.headers['webhook-id']);
    await waitFor('recorded', async () => (await deliveries(ep.id))[0]?.attempts === 2);
  });

  it('does not follow redirects (a 3xx is a failure; the redirect target sees no request)', async () => {
    const ep = await register('/redirect', ['template.status_updated']);
    rx.answer((path) => (path === '/redirect' ? { status: 302, headers: { location: rx.url('/redirect-target') } } : { status: 200, body: 'ok' }));
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const d = await waitFor('the failed attempt', async () => {
      const x = (await deliveries(ep.id))[0];
      return x?.attempts === 1 && x;
    });
    expect(d.last_attempt).toMatchObject({ status_code: 302, error: 'redirect (302) not followed' });
    expect(rx.to('/redirect-target')).toHaveLength(0);
  });

  it('times out a hanging endpoint', async () => {
    const ep = await register('/hang', ['template.status_updated']);
    rx.answer((path) => (path === '/hang' ? 'hang' : { status: 200, body: 'ok' }));
    await request(app()).post(`/v1/webhooks/${ep.id}/test`).set(auth()).expect(202);
    const d = await waitFor('the timed-out attempt', async () => {
      const x = (await deliveries(ep.id))[0];
      return x?.attempts === 1 && x;
    });
    expect(d.last_attempt).toMatchObject({ status_code: null, error: 'timed out after 1000 ms' });
    expect(d.last_attempt.latency_ms).toBeGreaterThanOrEqual(1000);
  });

  it('delivers events whose job Redis lost: the sweeper re-enqueues pending, due deliveries', async () => {
    const ep = await register('/lost', ['message.received']);
    const queue = f.rt.queues?.get('webhooks');
    if (!queue) throw new Error('no webhooks queue');
    await queue.pause();
    await postSigned(app(), textPayload({ from: String(++customer), body: 'survive a Redis loss' }), APP_SECRET).expect(200);
    const row = await waitFor('the fan-out row', async () => (await f.rows<{ id: string }>('select id from webhook_deliveries where endpoint_id = $1', [ep.id]))[0]);
    // Redis loses everything of the queue; the delivery is pending and overdue in Postgres only.
    await queue.obliterate({ force: true });
    await queue.resume();
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 0, active: 0 });
    await f.rows(`update webhook_deliveries set next_attempt_at = now() - interval '1 minute' where id = $1`, [row.id]);
    const got = await waitFor('the swept delivery', () => rx.to('/lost')[0], 20_000);
    const body = verify(got, ep.secret);
    expect((body.data.message as { content: { text: string } }).content.text).toBe('survive a Redis loss');
    await waitFor('succeeded', async () => (await deliveries(ep.id))[0]?.status === 'succeeded');
  });

  it('never puts a secret, key or token in a body, a delivery record or a log line', async () => {
    const everything = [
      ...rx.received.map((r) => r.body),
      JSON.stringify(await f.rows('select * from webhook_deliveries')),
      JSON.stringify(await f.rows('select data from events')),
      JSON.stringify(await f.rows('select response_body from idempotency_keys')),
      f.rt.logs.text(),
    ].join('\n');
    expect(secrets.length).toBeGreaterThan(5);
    for (const s of [...secrets, key, ACCESS_TOKEN, APP_SECRET]) expect(everything).not.toContain(s);
    expect(everything).not.toMatch(/whsec_[A-Za-z0-9+/]{8,}/);
  });
});
