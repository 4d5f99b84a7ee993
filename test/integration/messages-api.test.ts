import request from 'supertest';
import type { Express } from 'express';
import { SCOPES } from '../../src/domain/keys/scopes';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload, SPEC_WABA_ID } from '../support/meta';

describe('POST /v1/messages and friends', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let app: Express;
  let key: string;
  const customer = '16505551234';

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture({ WHATSAPP_GRAPH_URL: graph.url }, { workers: true });
    await f.rt.runWorkers();
    app = f.rt.app as Express;
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'crm', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });
  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
  });
  beforeEach(async () => {
    await f.reset();
  });

  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });
  const text = (body = 'Your order is ready', extra: Record<string, unknown> = {}) => ({ to: `+${customer}`, type: 'text', text: { body }, ...extra });
  const sendsTo = () => graph.calls.filter((c) => c.method === 'POST' && (c.body as { to?: string }).to === `+${customer}`);
  async function waitStatus(id: string, status: string) {
    for (let i = 0; i < 100; i++) {
      const r = await request(app).get(`/v1/messages/${id}`).set(auth()).expect(200);
      if (r.body.status === status) return r.body;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`message ${id} never reached ${status}`);
  }
  const openWindow = () => postSigned(app, textPayload({ from: customer }), APP_SECRET).expect(200);

  it('inside the window: 202 queued, then sent through the pipeline with a body Meta accepts', async () => {
    await openWindow();
    const before = sendsTo().length;
    const res = await request(app).post('/v1/messages').set(auth()).send(text()).expect(202);
    expect(res.body).toMatchObject({ object: 'message', direction: 'out', status: 'queued', type: 'text', author: 'api' });
    const sent = await waitStatus(res.body.id, 'sent');
    expect(sent.wamid).toMatch(/^wamid\./);
    expect(sendsTo().length).toBe(before + 1);
    const list = await request(app).get('/v1/messages').query({ direction: 'out' }).set(auth()).expect(200);
    expect(list.body.data.map((m: { id: string }) => m.id)).toEqual([res.body.id]);
  });

  it('outside the window: 422 window_closed naming when it closed; a template goes out', async () => {
    await openWindow();
    await f.rt.db.pool.query("update conversations set window_expires_at = now() - interval '1 hour'");
    const res = await request(app).post('/v1/messages').set(auth()).send(text()).expect(422);
    expect(res.body.error).toMatchObject({ code: 'window_closed', window_closed_at: expect.any(String), hint: expect.stringContaining('template') });
    expect(await f.rows("select * from messages where direction = 'out'")).toEqual([]);

    await f.rt.db.pool.query(
      `insert into templates (id, workspace_id, waba_id, name, language, category, status, components)
       values ('tpl_a', $1, $2, 'order_ready', 'en_US', 'UTILITY', 'APPROVED', $3)`,
      [f.workspaceId, SPEC_WABA_ID, JSON.stringify([{ type: 'BODY', text: 'Hi {{1}}, order {{2}} is ready.' }])],
    );
    const template = (params: string[]) => ({
      to: `+${customer}`,
      type: 'template',
      template: { name: 'order_ready', language: { code: 'en_US' }, components: [{ type: 'body', parameters: params.map((p) => ({ type: 'text', text: p })) }] },
    });
    const ok = await request(app).post('/v1/messages').set(auth()).send(template(['Ana', '42'])).expect(202);
    await waitStatus(ok.body.id, 'sent');
    const mismatch = await request(app).post('/v1/messages').set(auth()).send(template(['Ana'])).expect(422);
    expect(mismatch.body.error.code).toBe('template_params_mismatch');
    const missing = await request(app).post('/v1/messages').set(auth()).send({ ...template([]), template: { name: 'nope', language: { code: 'en_US' } } }).expect(422);
    expect(missing.body.error.code).toBe('template_not_found');
    await f.rt.db.pool.query("update templates set status = 'PAUSED'");
    expect((await request(app).post('/v1/messages').set(auth()).send(template(['Ana', '42'])).expect(422)).body.error.code).toBe('template_not_approved');
  });

  it('window endpoints tell whether free-form messages can be sent', async () => {
    const none = await request(app).get(`/v1/contacts/${customer}/window`).set(auth()).expect(200);
    expect(none.body).toMatchObject({ open: false, can_send_freeform: false, can_send_template: true, expires_at: null });
    await openWindow();
    const open = await request(app).get(`/v1/contacts/${customer}/window`).set(auth()).expect(200);
    expect(open.body).toMatchObject({ open: true, can_send_freeform: true });
    const byConv = await request(app).get(`/v1/conversations/${open.body.conversation_id}/window`).set(auth()).expect(200);
    expect(byConv.body).toEqual(open.body);
  });

  it('Idempotency-Key: 10 concurrent identical requests make 1 message and 1 send, with consistent answers', async () => {
    await openWindow();
    const before = sendsTo().length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => request(app).post('/v1/messages').set(auth()).set('Idempotency-Key', 'order-42-ready').send(text())),
    );
    const ok = answers.filter((a) => a.status === 202);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => a.status === 202 || a.status === 409)).toBe(true);
    expect(new Set(ok.map((a) => a.body.id)).size).toBe(1);
    const replay = await request(app).post('/v1/messages').set(auth()).set('Idempotency-Key', 'order-42-ready').send(text()).expect(202);
    expect(replay.body.id).toBe(ok[0]?.body.id);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await waitStatus(ok[0]?.body.id, 'sent');
    expect(sendsTo().length).toBe(before + 1);
    expect(await f.rows("select id from messages where direction = 'out'")).toHaveLength(1);
    const other = await request(app).post('/v1/messages').set(auth()).set('Idempotency-Key', 'order-42-ready').send(text('different')).expect(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('bad bodies get 400 naming the field and nothing is queued', async () => {
    await openWindow();
    for (const [body, param] of [
      [{ to: 'x', type: 'text', text: { body: 'a' } }, 'to'],
      [{ to: `+${customer}`, type: 'text', text: { body: 'x'.repeat(4097) } }, 'text.body'],
      [{ to: `+${customer}`, type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, action: { buttons: [] } } }, 'interactive.action.buttons'],
      [{ to: `+${customer}`, type: 'text', text: { body: 'a' }, from: 'num_unknown' }, 'from'],
    ] as const) {
      const res = await request(app).post('/v1/messages').set(auth()).send(body).expect(400);
      expect(res.body.error.param).toBe(param);
    }
    expect(await f.rows("select * from messages where direction = 'out'")).toEqual([]);
  });

  it('security: no key 401, missing scope 403, another workspace 404', async () => {
    await openWindow();
    await request(app).post('/v1/messages').send(text()).expect(401);
    const readOnly = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'ro', scopes: ['messages:read'], mode: 'live', source: 'cli' })).plaintext;
    await request(app).post('/v1/messages').set(auth(readOnly)).send(text()).expect(403);
    const mine = await request(app).post('/v1/messages').set(auth()).send(text()).expect(202);
    const ws = await f.rt.services.tenancy.createWorkspace({ name: 'other' });
    const theirs = (await f.rt.services.apiKeys.create({ workspaceId: ws.id, name: 'k', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    await request(app).get(`/v1/messages/${mine.body.id}`).set(auth(theirs)).expect(404);
    await request(app).get(`/v1/conversations/${mine.body.conversation_id}/window`).set(auth(theirs)).expect(404);
    expect((await request(app).get('/v1/messages').set(auth(theirs)).expect(200)).body.data).toEqual([]);
  });

  it('a test key never reaches Meta: its message is marked test and sent to the sandbox', async () => {
    await openWindow();
    const testKey = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 't', scopes: ['messages:send', 'messages:read'], mode: 'test', source: 'cli' })).plaintext;
    const before = sendsTo().length;
    const res = await request(app).post('/v1/messages').set(auth(testKey)).send(text()).expect(202);
    expect(res.body.test).toBe(true);
    const sent = await waitStatus(res.body.id, 'sent');
    expect(sent.wamid).toMatch(/^wamid\./);
    expect(sendsTo().length).toBe(before);
  });
});
