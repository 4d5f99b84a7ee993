import request from 'supertest';
import type { Express } from 'express';
import { metaSerialize, postSigned, postWebhook, sign, textPayload, uniqueWamid } from '../support/meta';
import { APP_SECRET, VERIFY_TOKEN, createIngressFixture, type IngressFixture } from '../support/ingress';

describe('ingress: who may post, and what', () => {
  let f: IngressFixture;
  let app: Express;
  const OTHER_SECRET = 'other-app-secret-abcdef';
  beforeAll(async () => {
    f = await createIngressFixture();
    app = f.rt.app as Express;
    // A second number, of another app, in another workspace, sharing the webhook URL.
    const ws = await f.rt.services.tenancy.createWorkspace({ name: 'Other' });
    await f.rt.services.tenancy.addNumber({
      workspaceId: ws.id,
      phoneNumberId: '777000000000001',
      wabaId: '888000000000001',
      accessToken: 'EAAG-other',
      appSecret: OTHER_SECRET,
      verifyToken: 'other-verify',
      source: 'cli',
    });
  });
  afterAll(async () => {
    await f.rt.teardown();
  });
  beforeEach(async () => {
    await f.reset();
  });
  const count = async () => (await f.rows<{ n: number }>('select count(*)::int as n from messages'))[0]?.n;

  describe('GET verification handshake', () => {
    it('answers the raw challenge for a configured verify token', async () => {
      const res = await request(app)
        .get('/webhooks/whatsapp')
        .query({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' })
        .expect(200);
      expect(res.text).toBe('1158201444');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      // Any configured number's token works: one URL serves many numbers.
      await request(app)
        .get('/webhooks/whatsapp')
        .query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'other-verify', 'hub.challenge': 'abc' })
        .expect(200, 'abc');
    });

    it.each([
      [{ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1' }],
      [{ 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' }],
      [{ 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' }],
      [{ 'hub.mode': 'subscribe', 'hub.challenge': '1' }],
      [{ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '<script>' + 'x'.repeat(600) }],
    ])('403 for %j', async (query) => {
      const res = await request(app).get('/webhooks/whatsapp').query(query).expect(403);
      expect(res.body.error.code).toBe('verification_failed');
    });
  });

  describe('POST signatures', () => {
    it('missing signature: 401, nothing stored', async () => {
      const res = await postWebhook(app, metaSerialize(textPayload({})));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_signature');
      expect(await count()).toBe(0);
    });

    it('wrong signature: 401, nothing stored', async () => {
      const body = metaSerialize(textPayload({}));
      expect((await postWebhook(app, body, sign(body, 'not-the-secret'))).status).toBe(401);
      expect((await postWebhook(app, body, 'sha256=' + '0'.repeat(64))).status).toBe(401);
      expect((await postWebhook(app, body, 'sha1=' + sign(body, APP_SECRET).slice(7))).status).toBe(401);
      expect((await postWebhook(app, `${body} `, sign(body, APP_SECRET))).status).toBe(401);
      expect(await count()).toBe(0);
    });

    it("a signature made with another number's secret: 401, nothing stored", async () => {
      const body = metaSerialize(textPayload({}));
      // The other app's secret is a real secret of ours, but not of this number's app.
      const res = await postWebhook(app, `${body.slice(0, -1)},"x":{"phone_number_id":"777000000000001"}}`, undefined);
      expect(res.status).toBe(401);
      const mixed = `${body.slice(0, -1)},"x":{"phone_number_id":"777000000000001"}}`;
      expect((await postWebhook(app, mixed, sign(mixed, OTHER_SECRET))).status).toBe(200);
      // ... and then only the other app's numbers are served: this number's message is not stored.
      expect(await count()).toBe(0);
      expect((await postWebhook(app, body, sign(body, OTHER_SECRET))).status).toBe(401);
      expect(await count()).toBe(0);
    });

    it('non-ASCII text signed over the escaped bytes Meta sends verifies and is stored decoded', async () => {
      const text = 'Grüße aus Köln, 你好 👍 äöå';
      const body = metaSerialize(textPayload({ body: text }));
      expect(body).toContain('\\u00fc'); // as Meta sends it
      expect(body).not.toContain('ü');
      await postWebhook(app, body, sign(body, APP_SECRET)).expect(200);
      const [row] = await f.rows<{ content: { text: string } }>('select content from messages');
      expect(row?.content.text).toBe(text);
    });
  });

  describe('a number we do not know', () => {
    it('gets 200, nothing stored, logged once', async () => {
      const payload = textPayload({ phoneNumberId: '999999999999999', wabaId: '999999999999998' });
      await postSigned(app, payload, 'whatever').expect(200);
      await postSigned(app, textPayload({ phoneNumberId: '999999999999999', wabaId: '999999999999998' }), 'whatever').expect(200);
      expect(await count()).toBe(0);
      const lines = f.rt.logs.lines().filter((l) => String(l.msg).includes('number we do not know') && JSON.stringify(l.ids).includes('999999999999999'));
      expect(lines).toHaveLength(1);
    });
  });

  describe('hostile bodies', () => {
    const signed = (body: string) => postWebhook(app, body, sign(body, APP_SECRET));

    it('malformed JSON (signed): 400', async () => {
      const body = '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","metadata":{"phone_number_id":"106540352242922"}';
      const res = await signed(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_webhook');
    });

    it.each([
      ['entry is not an array', { object: 'whatsapp_business_account', entry: 'x', p: { phone_number_id: '106540352242922' } }],
      ['no entry', { object: 'whatsapp_business_account', p: { phone_number_id: '106540352242922' } }],
      ['a bare array', [{ phone_number_id: '106540352242922' }]],
      ['changes not an array', { object: 'w', entry: [{ id: '1', changes: {} }], m: { phone_number_id: '106540352242922' } }],
    ])('wrong shape (%s): 400, nothing stored', async (_l, payload) => {
      const res = await signed(JSON.stringify(payload));
      expect(res.status).toBe(400);
      expect(await count()).toBe(0);
    });

    it('elements of the wrong shape are skipped, the rest of the batch is stored', async () => {
      const payload = textPayload({ body: 'kept' }) as { entry: { changes: { value: { messages: unknown[] } }[] }[] };
      const messages = payload.entry[0]?.changes[0]?.value.messages as unknown[];
      messages.push({ id: 'wamid.bad', from: '1', timestamp: 'yesterday', type: 'text', text: { body: 'x' } });
      messages.push({ from: '1', timestamp: '1750000000', type: 'text' });
      messages.push({ id: uniqueWamid(), from: '16505551234', timestamp: '1750000000', type: 'hologram', hologram: { depth: 3 } });
      await postSigned(app, payload, APP_SECRET).expect(200);
      const rows = await f.rows<{ type: string; content: Record<string, unknown>; raw: Record<string, unknown> }>('select type, content, raw from messages order by meta_timestamp');
      expect(rows.map((r) => r.type)).toEqual(['hologram', 'text']);
      // Unknown types are kept raw, never rejected.
      expect(rows[0]?.raw).toMatchObject({ type: 'hologram', hologram: { depth: 3 } });
    });

    it('a 10 MB body: 413 before anything is parsed', async () => {
      const res = await postWebhook(app, Buffer.alloc(10 * 1024 * 1024, 0x20), 'sha256=' + '0'.repeat(64));
      expect(res.status).toBe(413);
      expect(await count()).toBe(0);
    });

    it('10,000-deep JSON, signed: a fast 4xx, no crash', async () => {
      const deep = `{"m":{"phone_number_id":"106540352242922"},"entry":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
      const started = Date.now();
      const res = await signed(deep);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(Date.now() - started).toBeLessThan(2000);
      const unsigned = await postWebhook(app, deep);
      expect(unsigned.status).toBe(401);
      await request(app).get('/healthz').expect(200);
    });

    it('an empty body: 400', async () => {
      expect((await postWebhook(app, '', sign('', APP_SECRET))).status).toBe(400);
    });
  });
});
