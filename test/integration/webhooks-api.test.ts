import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { SCOPES } from '../../src/domain/keys/scopes';
import { createTestRuntime, type TestRuntime } from '../support/runtime';

/**
 * /v1/webhooks: every route's happy case, validation, auth, scope and tenancy, and the SSRF guard
 * with the production defaults (https only, public addresses only).
 */
const PUBLIC_URL = 'https://93.184.215.14/hooks/gateway';

describe('webhook endpoints API', () => {
  let rt: TestRuntime;
  let key: string;
  let noScopeKey: string;
  let otherKey: string;
  let workspaceId: string;
  const app = () => rt.app as Express;
  const as = (k: string) => ({ Authorization: `Bearer ${k}` });
  const create = (body: Record<string, unknown>, k = key) => request(app()).post('/v1/webhooks').set(as(k)).send(body);

  beforeAll(async () => {
    rt = await createTestRuntime();
    const ws = await rt.services.tenancy.createWorkspace({ name: 'Hooks Shop' });
    workspaceId = ws.id;
    key = (await rt.services.apiKeys.create({ workspaceId, name: 'admin', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    noScopeKey = (await rt.services.apiKeys.create({ workspaceId, name: 'reader', scopes: ['messages:read'], mode: 'live', source: 'cli' })).plaintext;
    const other = await rt.services.tenancy.createWorkspace({ name: 'Other' });
    otherKey = (await rt.services.apiKeys.create({ workspaceId: other.id, name: 'other', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });

  afterAll(async () => {
    await rt.teardown();
  });

  it('creates an endpoint and shows its secret once; lists, reads, updates and deletes it', async () => {
    const res = await create({ url: PUBLIC_URL, events: ['message.received', 'message.received', 'conversation.takeover'], description: 'CRM' }).expect(201);
    expect(res.body).toMatchObject({ object: 'webhook_endpoint', url: PUBLIC_URL, events: ['message.received', 'conversation.takeover'], description: 'CRM', active: true, disabled_reason: null });
    expect(res.body.id).toMatch(/^whe_/);
    const secret = res.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64').length).toBe(32);

    const got = await request(app()).get(`/v1/webhooks/${res.body.id}`).set(as(key)).expect(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(JSON.stringify(got.body)).not.toContain(secret.slice(6, 20));
    // Sealed at rest.
    const [row] = (await rt.db.pool.query('select secret_enc from webhook_endpoints where id = $1', [res.body.id])).rows as { secret_enc: string }[];
    expect(row?.secret_enc.startsWith('v1.')).toBe(true);
    expect(row?.secret_enc).not.toContain(secret.slice(6));

    const patched = await request(app()).patch(`/v1/webhooks/${res.body.id}`).set(as(key)).send({ events: ['*'], active: false, description: null }).expect(200);
    expect(patched.body).toMatchObject({ events: ['*'], active: false, description: null, url: PUBLIC_URL });

    const list = await request(app()).get('/v1/webhooks').set(as(key)).expect(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(res.body.id);
    expect(JSON.stringify(list.body)).not.toContain('secret"');

    await request(app()).delete(`/v1/webhooks/${res.body.id}`).set(as(key)).expect(200, { object: 'webhook_endpoint', id: res.body.id, deleted: true });
    await request(app()).get(`/v1/webhooks/${res.body.id}`).set(as(key)).expect(404);
  });

  it('pages the list with limit and starting_after', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create({ url: PUBLIC_URL, events: ['*'] }).expect(201)).body.id);
    const first = await request(app()).get('/v1/webhooks?limit=2').set(as(key)).expect(200);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data).toHaveLength(2);
    const second = await request(app()).get(`/v1/webhooks?limit=2&starting_after=${first.body.next_cursor}`).set(as(key)).expect(200);
    const seen = [...first.body.data, ...second.body.data].map((e: { id: string }) => e.id);
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(new Set(seen).size).toBe(seen.length);
    await request(app()).get('/v1/webhooks?limit=0').set(as(key)).expect(400);
  });

  it('replays a creation under the same Idempotency-Key with the same secret, and refuses another body', async () => {
    const body = { url: PUBLIC_URL, events: ['message.sent'] };
    const a = await create(body).set('Idempotency-Key', 'create-hook-1').expect(201);
    const b = await create(body).set('Idempotency-Key', 'create-hook-1').expect(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body).toEqual(a.body);
    await create({ ...body, events: ['message.read'] }).set('Idempotency-Key', 'create-hook-1').expect(422);
    const stored = JSON.stringify((await rt.db.pool.query('select response_body from idempotency_keys')).rows);
    expect(stored).not.toContain(a.body.secret);
  });

  it.each([
    [{ events: ['*'] }, 'url', /required/],
    [{ url: PUBLIC_URL }, 'events', /required/],
    [{ url: PUBLIC_URL, events: [] }, 'events', /at least one/],
    [{ url: PUBLIC_URL, events: ['message.received', 'message.exploded'] }, 'events.1', /unknown event type "message.exploded"/],
    [{ url: PUBLIC_URL, events: ['webhook.test'] }, 'events.0', /unknown event type/],
    [{ url: PUBLIC_URL, events: ['*', 'message.sent'] }, 'events.0', /only entry/],
    [{ url: PUBLIC_URL, events: ['*'], active: 'yes' }, 'active', /true or false/],
    [{ url: PUBLIC_URL, events: ['*'], secret: 'whsec_mine' }, 'secret', /unknown parameter/],
    [{ url: 'http://93.184.215.14/', events: ['*'] }, 'url', /must use https/],
    [{ url: 'https://127.0.0.1/', events: ['*'] }, 'url', /loopback/],
    [{ url: 'https://localhost/', events: ['*'] }, 'url', /loopback/],
    [{ url: 'https://[::1]/', events: ['*'] }, 'url', /loopback/],
    [{ url: 'https://10.0.0.1/', events: ['*'] }, 'url', /private/],
    [{ url: 'https://169.254.169.254/', events: ['*'] }, 'url', /linkLocal/],
    [{ url: 'https://100.64.0.1/', events: ['*'] }, 'url', /carrierGradeNat/],
    [{ url: 'https://[::ffff:10.0.0.1]/', events: ['*'] }, 'url', /ipv4Mapped/],
    [{ url: 'https://2130706433/', events: ['*'] }, 'url', /four decimal numbers/],
    [{ url: 'https://0x7f000001/', events: ['*'] }, 'url', /four decimal numbers/],
    [{ url: 'https://0177.0.0.1/', events: ['*'] }, 'url', /four decimal numbers/],
    [{ url: 'https://user:pw@93.184.215.14/', events: ['*'] }, 'url', /credentials/],
  ])('refuses %j with a 400 naming %s', async (body, param, message) => {
    const res = await create(body).expect(400);
    expect(res.body.error.param).toBe(param);
    expect(res.body.error.message).toMatch(message);
  });

  it('checks the URL again on PATCH, and refuses an empty patch', async () => {
    const { id } = (await create({ url: PUBLIC_URL, events: ['*'] }).expect(201)).body;
    const bad = await request(app()).patch(`/v1/webhooks/${id}`).set(as(key)).send({ url: 'https://192.168.1.1/' }).expect(400);
    expect(bad.body.error.param).toBe('url');
    await request(app()).patch(`/v1/webhooks/${id}`).set(as(key)).send({}).expect(400);
    await request(app()).patch(`/v1/webhooks/${id}`).set(as(key)).send({ events: ['nope.nope'] }).expect(400);
  });

  it('answers 401 without a key, 403 without webhooks:manage, and 404 for another workspace on every route', async () => {
    const { id } = (await create({ url: PUBLIC_URL, events: ['*'] }).expect(201)).body;
    const delivery = (await request(app()).post(`/v1/webhooks/${id}/test`).set(as(key)).expect(202)).body.id as string;
    const routes: [string, string][] = [
      ['post', '/v1/webhooks'],
      ['get', '/v1/webhooks'],
      ['get', `/v1/webhooks/${id}`],
      ['patch', `/v1/webhooks/${id}`],
      ['delete', `/v1/webhooks/${id}`],
      ['post', `/v1/webhooks/${id}/rotate-secret`],
      ['post', `/v1/webhooks/${id}/test`],
      ['get', `/v1/webhooks/${id}/deliveries`],
      ['post', `/v1/webhooks/${id}/deliveries/${delivery}/redeliver`],
    ];
    const call = (method: string, path: string) => (request(app()) as unknown as Record<string, (p: string) => request.Test>)[method]?.(path) as request.Test;
    for (const [method, path] of routes) {
      await call(method, path).send({ active: true }).expect(401);
      const forbidden = await call(method, path).set(as(noScopeKey)).send({ active: true }).expect(403);
      expect(forbidden.body.error.code).toBe('missing_scope');
      if (path !== '/v1/webhooks') await call(method, path).set(as(otherKey)).send({ active: true }).expect(404);
    }
    await request(app()).get('/v1/webhooks/whe_nope').set(as(key)).expect(404);
    await request(app()).post(`/v1/webhooks/${id}/deliveries/whd_nope/redeliver`).set(as(key)).expect(404);
    // The other workspace's list does not show it.
    const theirs = await request(app()).get('/v1/webhooks').set(as(otherKey)).expect(200);
    expect(theirs.body.data).toEqual([]);
  });

  it('rotates the secret (new one shown once, the old one overlapping for 24 h) and lists test deliveries', async () => {
    const created = (await create({ url: PUBLIC_URL, events: ['message.read'] }).expect(201)).body;
    const rotated = await request(app()).post(`/v1/webhooks/${created.id}/rotate-secret`).set(as(key)).set('Idempotency-Key', 'rot-1').expect(200);
    expect(rotated.body.secret).not.toBe(created.secret);
    const replay = await request(app()).post(`/v1/webhooks/${created.id}/rotate-secret`).set(as(key)).set('Idempotency-Key', 'rot-1').expect(200);
    expect(replay.body.secret).toBe(rotated.body.secret);
    expect(rotated.body.previous_secret_expires_at).toEqual(expect.any(String));
    const ping = await request(app()).post(`/v1/webhooks/${created.id}/test`).set(as(key)).expect(202);
    expect(ping.body).toMatchObject({ object: 'webhook_delivery', endpoint_id: created.id, event_type: 'webhook.test', status: 'pending', attempts: 0, last_attempt: null });
    const list = await request(app()).get(`/v1/webhooks/${created.id}/deliveries`).set(as(key)).expect(200);
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([ping.body.id]);
    // The ping is not an event of the live stream.
    const ev = (await rt.db.pool.query(`select stream_seq, dispatched_at from events where type = 'webhook.test'`)).rows as { stream_seq: number | null }[];
    expect(ev.every((e) => e.stream_seq === null)).toBe(true);
  });

  it('refuses at delivery time a target that resolves to a private address (no connection is made)', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    // Registered while it resolved publicly (here: written directly), now "localhost" -> loopback.
    const created = (await create({ url: PUBLIC_URL, events: ['*'] }).expect(201)).body;
    await rt.db.pool.query('update webhook_endpoints set url = $2 where id = $1', [created.id, `https://localhost:${port}/hook`]);
    const ping = (await request(app()).post(`/v1/webhooks/${created.id}/test`).set(as(key)).expect(202)).body;
    const r = await rt.webhookDelivery.attempt({ workspaceId, deliveryId: ping.id, attempt: 0 });
    expect(r.outcome).toBe('pending');
    const [d] = (await request(app()).get(`/v1/webhooks/${created.id}/deliveries`).set(as(key)).expect(200)).body.data;
    expect(d.last_attempt).toMatchObject({ status_code: null });
    expect(d.last_attempt.error).toMatch(/^refused: resolves to a refused address: .*loopback/);
    // A literal private address written behind our back is refused before any connection too.
    await rt.db.pool.query('update webhook_endpoints set url = $2 where id = $1', [created.id, `https://127.0.0.1:${port}/hook`]);
    const ping2 = (await request(app()).post(`/v1/webhooks/${created.id}/test`).set(as(key)).expect(202)).body;
    await rt.webhookDelivery.attempt({ workspaceId, deliveryId: ping2.id, attempt: 0 });
    const after = (await request(app()).get(`/v1/webhooks/${created.id}/deliveries`).set(as(key)).expect(200)).body.data[0];
    expect(after.last_attempt.error).toMatch(/^refused: .*loopback/);
    await new Promise<void>((res) => server.close(() => res()));
    expect(connections).toBe(0);
  });

  it('never logs a secret', async () => {
    const created = (await create({ url: PUBLIC_URL, events: ['*'] }).expect(201)).body;
    expect(rt.logs.text()).not.toContain(created.secret);
    expect(rt.logs.text()).not.toMatch(/whsec_[A-Za-z0-9+/]{8,}/);
  });
});
