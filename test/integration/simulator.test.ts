import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Express } from 'express';
import { SCOPES } from '../../src/domain/keys/scopes';
import { createTestRuntime, type TestRuntime } from '../support/runtime';
import { waitFor } from '../support/wait';

/**
 * The built-in Cloud API simulator against the real gateway: the Graph endpoints it serves (over
 * HTTP, through the gateway's own Graph client), the status and customer webhooks it sends to the
 * real ingress, the customers' API of the /sandbox page, and fault injection. Meta is never
 * reachable here (WHATSAPP_GRAPH_URL points at a closed port), so anything that leaked to "Meta"
 * would fail.
 */
describe('Cloud API simulator', () => {
  let rt: TestRuntime;
  let server: http.Server;
  let base: string;
  let key: string;
  let workspaceId: string;
  const pnid = `10${Date.now().toString().slice(-10)}`;
  const waba = `20${Date.now().toString().slice(-10)}`;
  const token = `EAAG${randomBytes(12).toString('hex')}`;
  let customerSeq = 0;
  const nextCustomer = () => `4477009${String(++customerSeq).padStart(5, '0')}`;

  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await rt.db.pool.query(sql, params)).rows as T[];
  const graph = (path: string, t: string | null = token) => {
    const r = request(base).post(`/sandbox/graph/v23.0/${path}`);
    return t === null ? r : r.set('Authorization', `Bearer ${t}`);
  };
  const api = (k = key) => ({
    get: (path: string) => request(base).get(path).set('Authorization', `Bearer ${k}`),
    post: (path: string) => request(base).post(path).set('Authorization', `Bearer ${k}`),
    delete: (path: string) => request(base).delete(path).set('Authorization', `Bearer ${k}`),
  });
  const customers = `/sandbox/api/numbers/${pnid}/customers`;
  const chat = async (waId: string) =>
    (await api().get(`${customers}/${waId}/messages`).expect(200)).body.data as { id: string; from: string; type: string; status: string; message: Record<string, unknown>; error?: { code: number } }[];
  async function addCustomer(name = 'Ana'): Promise<string> {
    const waId = nextCustomer();
    await api().post(customers).send({ wa_id: `+${waId}`, name }).expect(201);
    return waId;
  }
  const say = async (waId: string, text: string) => (await api().post(`${customers}/${waId}/messages`).send({ type: 'text', text }).expect(201)).body;
  const message = async (id: string) => (await api().get(`/v1/messages/${id}`).expect(200)).body;
  async function sendText(waId: string, body: string) {
    return (await api().post('/v1/messages').send({ to: `+${waId}`, type: 'text', text: { body } }).expect(202)).body as { id: string };
  }
  const metaError = (code: number) => ({
    error: {
      message: expect.stringMatching(new RegExp(`^\\(#${code}\\) `)),
      type: expect.any(String),
      code,
      error_data: { messaging_product: 'whatsapp', details: expect.any(String) },
      fbtrace_id: expect.any(String),
    },
  });

  beforeAll(async () => {
    rt = await createTestRuntime({
      env: {
        WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9',
        AGENT_DEBOUNCE_MS: '100',
        READ_RECEIPTS: 'on_answer',
        SANDBOX_STATUS_DELAYS: '50ms,100ms,150ms',
      },
      workers: true,
    });
    server = http.createServer(rt.app as Express);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    rt.listening('127.0.0.1', port);
    const ws = await rt.services.tenancy.createWorkspace({ name: 'Sandbox Coffee' });
    workspaceId = ws.id;
    await rt.services.tenancy.addNumber({
      workspaceId,
      phoneNumberId: pnid,
      wabaId: waba,
      displayNumber: '+1 555 010 4242',
      accessToken: token,
      appSecret: randomBytes(16).toString('hex'),
      verifyToken: randomBytes(8).toString('hex'),
      sandbox: true,
      source: 'cli',
    });
    key = (await rt.services.apiKeys.create({ workspaceId, name: 'sandbox', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    // Workers start after the number exists, so its send queue is consumed from the start.
    await rt.runWorkers();
  }, 60_000);

  afterAll(async () => {
    if (process.env.DEBUG_SIMULATOR) console.log(rt.logs.lines().filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l)).join('\n'));
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await rt?.teardown();
  }, 60_000);

  it("refuses invalid bodies taken from the spec's schemas with Meta's error 100, and sends nothing", async () => {
    const waId = nextCustomer();
    const to = { messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${waId}` };
    const button = (title: string, id = 'b') => ({ type: 'reply', reply: { id, title } });
    const invalid: [string, Record<string, unknown>, string][] = [
      ['BaseMessageProperties requires messaging_product', { recipient_type: 'individual', to: `+${waId}`, type: 'text', text: { body: 'x' } }, 'messaging_product'],
      ['BaseMessageProperties requires to', { messaging_product: 'whatsapp', recipient_type: 'individual', type: 'text', text: { body: 'x' } }, 'parameter to '],
      ['BaseMessageProperties requires recipient_type', { messaging_product: 'whatsapp', to: `+${waId}`, type: 'text', text: { body: 'x' } }, 'recipient_type'],
      ['recipient_type is individual or group', { ...to, recipient_type: 'broadcast', type: 'text', text: { body: 'x' } }, 'recipient_type'],
      ['Message is one of the known types', { ...to, type: 'fax', fax: { body: 'x' } }, 'Param type'],
      ['text has no other properties', { ...to, type: 'text', text: { body: 'x', bold: true } }, "text['bold']"],
      ['a message has no unknown top-level property', { ...to, type: 'text', text: { body: 'x' }, priority: 'high' }, 'priority'],
      ['text.body is a string', { ...to, type: 'text', text: { body: 42 } }, "text['body']"],
      ['text.preview_url is a boolean', { ...to, type: 'text', text: { body: 'x', preview_url: 'yes' } }, "text['preview_url']"],
      ['a media object has an id or a link', { ...to, type: 'image', image: { caption: 'no source' } }, "image['link']"],
      ['a media object has an id or a link, not both', { ...to, type: 'image', image: { id: '1', link: 'https://example.com/a.jpg' } }, 'image'],
      ['reply buttons: at most 3', { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick' }, action: { buttons: [1, 2, 3, 4].map((i) => button(`B${i}`, `b${i}`)) } } }, "['buttons']"],
      ['a reply button title: at most 20 characters', { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick' }, action: { buttons: [button('A title far too long for it')] } } }, "['title']"],
      ['interactive.type is a known one', { ...to, type: 'interactive', interactive: { type: 'carousel', body: { text: 'x' }, action: { buttons: [button('A')] } } }, "interactive['type']"],
      ['interactive requires an action', { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'x' } } }, "interactive['action']"],
      ['a list button label: at most 20 characters', { ...to, type: 'interactive', interactive: { type: 'list', body: { text: 'x' }, action: { button: 'A label that is too long', sections: [{ title: 'S', rows: [{ id: 'r', title: 'R' }] }] } } }, "['button']"],
      ['a list: at most 10 sections', { ...to, type: 'interactive', interactive: { type: 'list', body: { text: 'x' }, action: { button: 'Menu', sections: Array.from({ length: 11 }, (_, i) => ({ title: `S${i}`, rows: [{ id: `r${i}`, title: 'R' }] })) } } }, "['sections']"],
      ['interactive body: at most 1024 characters', { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'x'.repeat(1025) }, action: { buttons: [button('A')] } } }, "['body']['text']"],
      ['a template needs a language', { ...to, type: 'template', template: { name: 'order_ready' } }, "template['language']"],
      ['a template language policy is deterministic', { ...to, type: 'template', template: { name: 'order_ready', language: { policy: 'fallback', code: 'en_US' } } }, "['policy']"],
      ['contacts: at most 5', { ...to, type: 'contacts', contacts: Array.from({ length: 6 }, () => ({ name: { formatted_name: 'A' } })) }, 'contacts'],
      ['contacts: at least 1', { ...to, type: 'contacts', contacts: [] }, 'contacts'],
      ['reaction has no other properties', { ...to, type: 'reaction', reaction: { message_id: 'wamid.x', emoji: 'x', skin: 1 } }, "reaction['skin']"],
      ['context is an object', { ...to, type: 'text', text: { body: 'x' }, context: 42 }, 'context'],
      ['location has no other properties', { ...to, type: 'location', location: { latitude: '1', longitude: '2', zoom: 3 } }, "location['zoom']"],
      ['an interactive header type is a known one', { ...to, type: 'interactive', interactive: { type: 'button', header: { type: 'gif' }, body: { text: 'x' }, action: { buttons: [button('A')] } } }, "header']['type']"],
    ];
    expect(invalid.length).toBeGreaterThanOrEqual(10);
    for (const [why, body, param] of invalid) {
      const res = await graph(`${pnid}/messages`).send(body);
      expect({ why, status: res.status }).toEqual({ why, status: 400 });
      expect(res.body).toEqual(metaError(100));
      expect({ why, details: res.body.error.error_data.details }).toEqual({ why, details: expect.stringContaining(param) });
    }
    // A body that is not JSON, and a mark-as-read without its message id: Meta's shape too.
    const broken = await graph(`${pnid}/messages`).set('Content-Type', 'application/json').send('{"messaging_product": "whatsapp",');
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual(metaError(100));
    expect((await graph(`${pnid}/messages`).send({ messaging_product: 'whatsapp', status: 'read' })).body).toEqual(metaError(100));

    // Nothing was sent: no customer appeared on the phone side, no status came back to the gateway.
    await new Promise((r) => setTimeout(r, 500));
    const listed = (await api().get(customers).expect(200)).body.data as { wa_id: string }[];
    expect(listed.map((c) => c.wa_id)).not.toContain(waId);
    expect(await rows('select 1 from pending_statuses')).toEqual([]);
    expect(await rows("select 1 from events where type like 'message.%'")).toEqual([]);
  });

  it("answers like Meta: no or a wrong token, an unknown number, an unknown path", async () => {
    const body = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+447700900001', type: 'text', text: { body: 'x' } };
    const wrong = await graph(`${pnid}/messages`, 'EAAG-not-this-number').send(body);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(metaError(190));
    const none = await graph(`${pnid}/messages`, null).send(body);
    expect(none.status).toBe(400);
    expect(none.body).toEqual(metaError(2500));
    const unknown = await graph('999000111222/messages').send(body);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: { ...metaError(100).error, type: 'GraphMethodException', error_subcode: 33 } });
    const path = await request(base).get(`/sandbox/graph/v23.0/${pnid}/whatever/else`).set('Authorization', `Bearer ${token}`);
    expect(path.status).toBe(400);
    expect(path.body.error).toMatchObject({ code: 2500, message: expect.stringContaining('Unknown path components') });
  });

  it('accepts valid sends of several types and answers like Meta; media and templates round-trip', async () => {
    const waId = nextCustomer();
    const to = { messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${waId}` };
    // Media upload (multipart, as Meta takes it), lookup and download with the bearer token.
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const uploaded = await graph(`${pnid}/media`).field('messaging_product', 'whatsapp').attach('file', png, { filename: 'dot.png', contentType: 'image/png' }).expect(200);
    expect(uploaded.body).toEqual({ id: expect.stringMatching(/^\d{15,16}$/) });
    const info = await request(base).get(`/sandbox/graph/v23.0/${uploaded.body.id}`).set('Authorization', `Bearer ${token}`).expect(200);
    expect(info.body).toMatchObject({ messaging_product: 'whatsapp', mime_type: 'image/png', file_size: String(png.length), id: uploaded.body.id, url: expect.stringContaining('/sandbox/graph/lookaside/') });
    const url = new URL(info.body.url as string);
    expect(url.origin).toBe(base);
    const bytes = await request(base).get(url.pathname).set('Authorization', `Bearer ${token}`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    expect(Buffer.compare(bytes.body as Buffer, png)).toBe(0);
    expect((await request(base).get(url.pathname)).status).toBe(400);
    const refused = await graph(`${pnid}/media`).field('messaging_product', 'whatsapp').attach('file', Buffer.from('MZ'), { filename: 'x.exe', contentType: 'application/x-msdownload' });
    expect(refused.body).toEqual(metaError(100));

    // A template of the workspace's catalog (for this WABA), and the catalog as Meta lists it.
    await rows(
      `insert into templates (id, workspace_id, waba_id, meta_template_id, name, language, category, status, components)
       values ($1, $2, $3, '7001', 'order_ready', 'en_US', 'MARKETING', 'APPROVED', $4)`,
      [`tpl_${randomBytes(8).toString('hex')}`, workspaceId, waba, JSON.stringify([{ type: 'BODY', text: 'Hi {{1}}, your order is ready.' }])],
    );
    const catalog = await request(base).get(`/sandbox/graph/v23.0/${waba}/message_templates`).query({ limit: 10 }).set('Authorization', `Bearer ${token}`).expect(200);
    expect(catalog.body.data).toEqual([expect.objectContaining({ id: '7001', name: 'order_ready', language: 'en_US', status: 'APPROVED', category: 'MARKETING' })]);
    expect(catalog.body.paging.cursors).toEqual({ before: expect.any(String), after: expect.any(String) });

    const valid: Record<string, unknown>[] = [
      { ...to, type: 'text', text: { body: 'Your latte is ready', preview_url: false } },
      { ...to, type: 'image', image: { id: uploaded.body.id, caption: 'A dot' } },
      { ...to, type: 'location', location: { latitude: '51.5072', longitude: '-0.1276', name: 'Corner Coffee', address: '1 Strand' } },
      { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick up or delivery?' }, action: { buttons: [{ type: 'reply', reply: { id: 'pickup', title: 'Pick up' } }, { type: 'reply', reply: { id: 'delivery', title: 'Delivery' } }] } } },
      { ...to, type: 'interactive', interactive: { type: 'list', body: { text: 'Our menu' }, action: { button: 'Menu', sections: [{ title: 'Coffee', rows: [{ id: 'latte', title: 'Latte', description: 'Milk' }] }] } } },
      { ...to, type: 'contacts', contacts: [{ name: { formatted_name: 'Corner Coffee', first_name: 'Corner' }, phones: [{ phone: '+1 555 010 4242', type: 'WORK' }] }] },
      { ...to, type: 'template', template: { name: 'order_ready', language: { policy: 'deterministic', code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }] } },
    ];
    const ids: string[] = [];
    for (const body of valid) {
      const res = await graph(`${pnid}/messages`).send(body).expect(200);
      expect(res.body).toEqual({
        messaging_product: 'whatsapp',
        contacts: [{ input: `+${waId}`, wa_id: waId }],
        messages: [body.type === 'template' ? { id: expect.stringMatching(/^wamid\.HBg/), message_status: 'accepted' } : { id: expect.stringMatching(/^wamid\.HBg/) }],
      });
      ids.push(res.body.messages[0].id);
    }
    const reaction = await graph(`${pnid}/messages`).send({ ...to, type: 'reaction', reaction: { message_id: ids[0], emoji: '\u{1F44D}' } }).expect(200);
    ids.push(reaction.body.messages[0].id);
    expect(new Set(ids).size).toBe(ids.length);
    // The customer's phone holds them, in order.
    expect((await chat(waId)).map((e) => [e.from, e.type])).toEqual(
      ['text', 'image', 'location', 'interactive', 'interactive', 'contacts', 'template', 'reaction'].map((t) => ['business', t]),
    );
    // Template checks: missing in that language, wrong parameter count.
    const missing = await graph(`${pnid}/messages`).send({ ...to, type: 'template', template: { name: 'order_ready', language: { policy: 'deterministic', code: 'fr' } } });
    expect(missing.body).toEqual(metaError(132001));
    const params = await graph(`${pnid}/messages`).send({ ...to, type: 'template', template: { name: 'order_ready', language: { policy: 'deterministic', code: 'en_US' } } });
    expect(params.body).toEqual(metaError(132000));
    // Statuses for these wamids came back through the ingress (the gateway does not know them,
    // so it keeps them until a send records the wamid).
    await waitFor('the status webhooks', async () => (await rows('select distinct wamid from pending_statuses')).length >= ids.length);
  });

  it('statuses arrive through the real ingress and move an API message to delivered, then read', async () => {
    const waId = await addCustomer('Bea');
    const first = await say(waId, 'Hello, is the shop open?');
    expect(first).toMatchObject({ object: 'sandbox_message', from: 'customer', status: 'delivered', id: expect.stringMatching(/^wamid\.HBg/) });
    const sent = await sendText(waId, 'Yes, until 6pm!');
    const read = await waitFor('the read status', async () => {
      const m = await message(sent.id);
      return m.status === 'read' && m;
    });
    expect(read).toMatchObject({ test: true, wamid: expect.stringMatching(/^wamid\.HBg/) });
    const events = await rows<{ type: string }>("select type from events where type like 'message.%' and data->'message'->>'id' = $1 order by created_at", [sent.id]);
    expect(events.map((e) => e.type)).toEqual(['message.sent', 'message.delivered', 'message.read']);
    const onPhone = (await chat(waId)).find((e) => e.id === read.wamid);
    expect(onPhone).toMatchObject({ from: 'business', type: 'text', status: 'read', message: { text: { body: 'Yes, until 6pm!' } } });
  });

  it('a customer message injected through the sandbox API arrives as message.received and the offline agent answers through the simulator', async () => {
    const doc = await api()
      .post('/v1/knowledge')
      .send({ title: 'Opening hours', content: 'We are open Monday to Friday from 7am to 6pm and weekends from 8am to 4pm.' })
      .expect(202);
    await waitFor('the document to be indexed', async () => (await rt.services.knowledge.get(workspaceId, doc.body.id)).status === 'ready');
    const waId = await addCustomer('Carla');
    const question = await say(waId, 'When are you open on Saturday?');
    const [received] = await waitFor('message.received', async () => {
      const r = await rows<{ data: { message: { wamid: string; content: { text: string } }; contact: { wa_id: string; name: string } } }>(
        "select data from events where type = 'message.received' and data->'message'->>'wamid' = $1",
        [question.id],
      );
      return r.length > 0 && r;
    });
    expect(received?.data).toMatchObject({ message: { content: { text: 'When are you open on Saturday?' } }, contact: { wa_id: waId, name: 'Carla' } });
    const answer = await waitFor('the answer on the phone', async () => (await chat(waId)).find((e) => e.from === 'business' && e.type === 'text'));
    expect(String((answer.message.text as { body: string }).body)).toMatch(/8am to 4pm|7am to 6pm/);
    // The gateway records the wamid once the simulator's answer is back.
    const [stored] = await waitFor('the answer recorded', async () => {
      const r = await rows<{ author: string; test: boolean }>('select author, test from messages where wamid = $1', [answer.id]);
      return r.length > 0 && r;
    });
    expect(stored).toEqual({ author: 'bot', test: true });
    // The agent marked the question read when it answered (READ_RECEIPTS=on_answer): blue ticks.
    await waitFor('the question read', async () => (await chat(waId)).find((e) => e.id === question.id)?.status === 'read');
  });

  it('an interactive reply is only for what the business offered, and arrives as a button_reply', async () => {
    const waId = await addCustomer('Dan');
    await say(waId, 'Hi');
    const offer = await api()
      .post('/v1/messages')
      .send({ to: `+${waId}`, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick up or delivery?' }, action: { buttons: [{ type: 'reply', reply: { id: 'pickup', title: 'Pick up' } }] } } })
      .expect(202);
    const wamid = (await waitFor('the offer sent', async () => (await message(offer.body.id)).wamid)) as string;
    await api().post(`${customers}/${waId}/messages`).send({ type: 'button_reply', reply_to: wamid, id: 'free-coffee' }).expect(400);
    const tap = await api().post(`${customers}/${waId}/messages`).send({ type: 'button_reply', reply_to: wamid, id: 'pickup' }).expect(201);
    const [row] = await waitFor('the reply stored', async () => {
      const r = await rows<{ type: string; content: Record<string, unknown>; reply_to_wamid: string }>('select type, content, reply_to_wamid from messages where wamid = $1', [tap.body.id]);
      return r.length > 0 && r;
    });
    expect(row).toMatchObject({ type: 'interactive', reply_to_wamid: wamid });
    expect(JSON.stringify(row?.content)).toContain('pickup');
  });

  it('an injected 131047 fails the message and closes the window; 130429 is retried; a status fault fails it after acceptance', async () => {
    const waId = await addCustomer('Eve');
    await say(waId, 'Hi there');
    // The offline agent answers (or hands off) first; then a person takes over, so that from now
    // on only this test's messages go to this customer (a bot reply would use up the faults).
    await waitFor("the agent's turn", async () => (await chat(waId)).some((e) => e.from === 'business'));
    const [conversation] = await rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]);
    await api().post(`/v1/conversations/${conversation?.id}/takeover`).send({ agent: { id: 'agt_1', name: 'Maria' }, force: true }).expect(200);
    const before = new Set((await chat(waId)).map((e) => e.id));
    const fromBusiness = async () => (await chat(waId)).filter((e) => e.from === 'business' && !before.has(e.id));
    await api().post('/sandbox/api/faults').send({ code: 131047, recipient: `+${waId}` }).expect(201);
    const reengage = await sendText(waId, 'Are you still there?');
    const failed = await waitFor('the failure', async () => {
      const m = await message(reengage.id);
      return m.status === 'failed' && m;
    });
    expect(failed.error).toMatchObject({ code: 131047 });
    const window = await api().get(`/v1/conversations/${failed.conversation_id}/window`).expect(200);
    expect(window.body.open).toBe(false);
    expect(await fromBusiness()).toEqual([]);

    await say(waId, 'Yes!');
    await api().post('/sandbox/api/faults').send({ code: 130429, recipient: waId, count: 1 }).expect(201);
    const throttled = await sendText(waId, 'Great, your order is ready.');
    const sent = await waitFor('the retried send', async () => {
      const m = await message(throttled.id);
      return ['sent', 'delivered', 'read'].includes(m.status) && m;
    }, 30_000);
    const [attempts] = await rows<{ send_attempts: number }>('select send_attempts from messages where id = $1', [throttled.id]);
    expect(attempts?.send_attempts).toBeGreaterThanOrEqual(2);
    expect((await fromBusiness()).map((e) => e.id)).toEqual([sent.wamid]);
    expect((await api().get('/sandbox/api/faults').expect(200)).body.data).toEqual([]);

    await api().post('/sandbox/api/faults').send({ code: 131026, recipient: waId, delivery: 'status' }).expect(201);
    const undeliverable = await sendText(waId, 'One more thing');
    const later = await waitFor('the failed status', async () => {
      const m = await message(undeliverable.id);
      return m.status === 'failed' && m;
    });
    expect(later).toMatchObject({ wamid: expect.stringMatching(/^wamid\./), error: { code: 131026 } });
  }, 60_000);

  it('a test key on a live number goes to the simulator, never to Meta', async () => {
    const ws = await rt.services.tenancy.createWorkspace({ name: 'Live Shop' });
    const livePnid = `30${Date.now().toString().slice(-10)}`;
    const appSecret = randomBytes(16).toString('hex');
    await rt.services.tenancy.addNumber({ workspaceId: ws.id, phoneNumberId: livePnid, wabaId: `40${Date.now().toString().slice(-10)}`, accessToken: 'EAAG-live', appSecret, verifyToken: 'v', source: 'cli' });
    const testKey = (await rt.services.apiKeys.create({ workspaceId: ws.id, name: 't', scopes: [...SCOPES], mode: 'test', source: 'cli' })).plaintext;
    const liveKey = (await rt.services.apiKeys.create({ workspaceId: ws.id, name: 'l', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    // The page API does not act on live numbers.
    await api(liveKey).post(`/sandbox/api/numbers/${livePnid}/customers`).send({ wa_id: '447700900123', name: 'X' }).expect(403);
    // A customer of the live number writes (a real, signed webhook), then the test key answers.
    const waId = nextCustomer();
    const payload = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: livePnid }, contacts: [{ profile: { name: 'Real' }, wa_id: waId }], messages: [{ from: waId, id: `wamid.LIVE${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'hi' } }] } }] }],
    });
    const { createHmac } = await import('node:crypto');
    await request(base).post('/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', `sha256=${createHmac('sha256', appSecret).update(payload).digest('hex')}`).send(payload).expect(200);
    const res = await api(testKey).post('/v1/messages').send({ to: `+${waId}`, type: 'text', text: { body: 'test reply' } }).expect(202);
    const delivered = await waitFor('the simulated delivery', async () => {
      const m = (await api(testKey).get(`/v1/messages/${res.body.id}`).expect(200)).body;
      return ['delivered', 'read'].includes(m.status) && m;
    }, 30_000);
    expect(delivered).toMatchObject({ test: true, wamid: expect.stringMatching(/^wamid\.HBg/) });
  });

  it('the page API needs a key with messages:send and conversations:read, and stays in its workspace', async () => {
    await request(base).get('/sandbox/api/numbers').expect(401);
    const readOnly = (await rt.services.apiKeys.create({ workspaceId, name: 'ro', scopes: ['conversations:read'], mode: 'live', source: 'cli' })).plaintext;
    const denied = await api(readOnly).get('/sandbox/api/numbers').expect(403);
    expect(denied.body.error).toMatchObject({ code: 'missing_scope', required_scope: 'messages:send' });
    await api(readOnly).post('/sandbox/api/faults').send({ code: 131047 }).expect(403);
    const numbers = await api().get('/sandbox/api/numbers').expect(200);
    expect(numbers.body.data).toEqual([expect.objectContaining({ object: 'sandbox_number', phone_number_id: pnid, waba_id: waba })]);
    const other = await rt.services.tenancy.createWorkspace({ name: 'Other' });
    const theirs = (await rt.services.apiKeys.create({ workspaceId: other.id, name: 'k', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    expect((await api(theirs).get('/sandbox/api/numbers').expect(200)).body.data).toEqual([]);
    await api(theirs).get(customers).expect(404);
    await api(theirs).post(`${customers}`).send({ wa_id: '447700900999', name: 'Mallory' }).expect(404);
    const fault = await api().post('/sandbox/api/faults').send({ code: 131000, count: 2 }).expect(201);
    expect((await api(theirs).get('/sandbox/api/faults').expect(200)).body.data).toEqual([]);
    await api(theirs).delete(`/sandbox/api/faults/${fault.body.id}`).expect(404);
    await api().delete(`/sandbox/api/faults/${fault.body.id}`).expect(200);
    // Bad input gets the error envelope naming the field.
    const bad = await api().post(customers).send({ wa_id: 'not a number', name: 'X' }).expect(400);
    expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param: 'wa_id' });
    await api().post('/sandbox/api/faults').send({ code: 'soon' }).expect(400);
  });

  it('SANDBOX_ENABLED=false serves no page and no page API, but the simulator still answers test sends', async () => {
    const off = await createTestRuntime({ env: { SANDBOX_ENABLED: 'false' } });
    try {
      const app = off.app as Express;
      await request(app).get('/sandbox').expect(404);
      await request(app).get('/sandbox/api/numbers').set('Authorization', `Bearer ${key}`).expect(404);
      const graphCall = await request(app).post(`/sandbox/graph/v23.0/${pnid}/messages`).set('Authorization', 'Bearer nope').send({});
      expect(graphCall.body.error).toMatchObject({ code: expect.any(Number), fbtrace_id: expect.any(String) });
    } finally {
      await off.teardown();
    }
  });
});
