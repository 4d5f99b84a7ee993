import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { EVENT_TYPES } from '../../src/domain/events/catalog';
import { SCOPES, type Scope } from '../../src/domain/keys/scopes';
import { createOpenApiDocument } from '../../src/http/openapi/document';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, VERIFY_TOKEN, type IngressFixture } from '../support/ingress';
import { postSigned, SPEC_PHONE_NUMBER_ID, SPEC_WABA_ID, statusPayload, textPayload, uniqueWamid } from '../support/meta';
import {
  collectRefs,
  createResponseRecorder,
  createSchemaCompiler,
  deref,
  documentSchemas,
  expressRoutes,
  operationsOf,
  resolvePointer,
  type OpenApiDoc,
  type ResponseRecorder,
} from '../support/openapi';
import { openSse } from '../support/sse-client';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The OpenAPI document against the running gateway. Every request of this file goes through a
 * recorder that checks each response against the document (operation, status, content type,
 * body schema, required headers): an answer the document does not describe fails the test that
 * caused it. The last test checks that every documented operation was exercised.
 */

/**
 * Routes that are not part of the API and so not in the document: pages and their files.
 * Anything else the app registers must be documented (and anything documented must exist).
 */
const UNDOCUMENTED: { route: RegExp; why: string }[] = [
  { route: /^GET \/console(\/|\/\{asset\})?$/, why: "the agent console's page and files" },
  { route: /^GET \/docs\/?$/, why: 'the API reference page' },
  { route: /^GET \/docs\/docs\.js$/, why: "the API reference page's script" },
  { route: /^USE \/docs\/assets$/, why: "Swagger UI's files (swagger-ui-dist)" },
  { route: /^GET \/sandbox\/?$/, why: "the sandbox's customer chat page" },
  { route: /^GET \/sandbox\/\{asset\}$/, why: "the sandbox page's files" },
  { route: /^[A-Z]+ \/sandbox\/graph(\/|$)/, why: "the Cloud API simulator: Meta's Graph API, documented by Meta" },
  { route: /^USE \/v1$/, why: 'the API middleware (JSON body, authentication, rate limits), not an endpoint' },
];
const undocumented = (key: string) => UNDOCUMENTED.some((u) => u.route.test(key));

describe('OpenAPI document', () => {
  let doc: OpenApiDoc;
  let f: IngressFixture;
  let graph: GraphEmulator;
  let receiver: WebhookReceiver;
  let recorder: ResponseRecorder;
  let server: http.Server;
  let base: string;
  let key: string;
  let otherKey: string;
  const limitedKeys = new Map<Scope, string>();
  let allEndpoint: { id: string; secret: string };
  let customer = 16505580100;
  const nextCustomer = () => String(++customer);

  const app = () => f.rt.app as Express;
  const wrapped = () => recorder.wrap(app()) as unknown as Express;
  const api = (method: 'get' | 'post' | 'patch' | 'delete', path: string, k: string | null = key) => {
    const r = request(base)[method](path);
    return k === null ? r : r.set('Authorization', `Bearer ${k}`);
  };
  const say = (from: string, body: string) => postSigned(wrapped(), textPayload({ from, body, name: 'Ana Lima' }), APP_SECRET).expect(200);
  const conversationOf = (waId: string) =>
    waitFor('the conversation', async () => (await f.rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]))[0]?.id);

  beforeAll(async () => {
    doc = createOpenApiDocument() as unknown as OpenApiDoc;
    recorder = createResponseRecorder(doc);
    graph = await startGraphEmulator(ACCESS_TOKEN);
    receiver = await startWebhookReceiver();
    f = await createIngressFixture(
      {
        WHATSAPP_GRAPH_URL: graph.url,
        AGENT_DEBOUNCE_MS: '20',
        AGENT_HANDOFF_KEYWORDS: 'human please',
        KNOWLEDGE_GAP_THRESHOLD: '1',
        EVENT_DISPATCH_INTERVAL_MS: '20',
        ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
        ALLOW_INSECURE_WEBHOOKS: 'true',
        WEBHOOK_TIMEOUT_MS: '2000',
        WEBHOOK_RETRY_SCHEDULE: '60s',
      },
      { workers: true },
    );
    await f.rt.runWorkers();
    const mint = async (workspaceId: string, scopes: Scope[]) =>
      (await f.rt.services.apiKeys.create({ workspaceId, name: scopes.join(' '), scopes, mode: 'live', source: 'cli' })).plaintext;
    key = await mint(f.workspaceId, [...SCOPES]);
    for (const scope of SCOPES) limitedKeys.set(scope, await mint(f.workspaceId, SCOPES.filter((s) => s !== scope)));
    otherKey = await mint((await f.rt.services.tenancy.createWorkspace({ name: 'Another Shop' })).id, [...SCOPES]);
    server = http.createServer(recorder.wrap(app()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Every event of the workspace, for the webhooks section's test.
    const created = await api('post', '/v1/webhooks').send({ url: receiver.url('/all'), events: ['*'] }).expect(201);
    allEndpoint = { id: created.body.id, secret: created.body.secret };
  }, 60_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await f?.rt.teardown();
    await graph?.close();
    await receiver?.close();
  }, 60_000);

  // Each test answers for the responses it caused.
  afterEach(() => {
    expect(recorder.problems.splice(0)).toEqual([]);
  });

  it('serves the document at /openapi.json, without a key', async () => {
    const res = await api('get', '/openapi.json', null).expect(200).expect('content-type', /application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(res.body.openapi).toBe('3.1.0');
  });

  it('documents every route the app registers, and only those', () => {
    const routes = expressRoutes(f.rt.expressApp as unknown as Parameters<typeof expressRoutes>[0]);
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    // The walk itself works: it sees routes of the top-level app, of route files and of the API router.
    for (const known of ['GET /healthz', 'POST /webhooks/whatsapp', 'POST /v1/messages', 'GET /v1/conversations/{id}/stream', 'GET /docs']) expect(registered.has(known)).toBe(true);
    const documented = new Set(operationsOf(doc).map((o) => o.key));
    const missing = [...registered].filter((r) => !undocumented(r) && !documented.has(r));
    const phantom = [...documented].filter((d) => !registered.has(d));
    expect({ missing, phantom }).toEqual({ missing: [], phantom: [] });
  });

  it('is valid OpenAPI 3.1: structure, path parameters, security, schemas that compile strictly, $refs that resolve', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));
    const schemes = Object.keys(((doc.components ?? {}) as { securitySchemes?: object }).securitySchemes ?? {});
    const tags = new Set(((doc.tags ?? []) as { name: string }[]).map((t) => t.name));
    const problems: string[] = [];
    const ids = new Map<string, string>();
    for (const o of operationsOf(doc)) {
      if (!o.path.startsWith('/')) problems.push(`${o.key}: path must start with /`);
      const id = o.op.operationId as string | undefined;
      if (!id) problems.push(`${o.key}: no operationId`);
      else if (ids.has(id)) problems.push(`${o.key}: operationId ${id} also used by ${ids.get(id)}`);
      else ids.set(id, o.key);
      const params = ((o.op.parameters ?? []) as object[]).map((p) => deref<{ in: string; name: string; required?: boolean; schema?: unknown }>(doc, p));
      const inPath = [...o.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = params.filter((p) => p.in === 'path');
      for (const name of inPath) if (!declared.some((p) => p.name === name && p.required === true)) problems.push(`${o.key}: path parameter ${name} not declared as required`);
      for (const p of declared) if (!inPath.includes(p.name)) problems.push(`${o.key}: declares path parameter ${p.name} the path does not have`);
      for (const p of params) if (!['path', 'query', 'header', 'cookie'].includes(p.in) || !p.schema) problems.push(`${o.key}: bad parameter ${p.name}`);
      const responses = Object.keys((o.op.responses ?? {}) as object);
      if (responses.length === 0 || responses.some((s) => !/^([1-5](\d\d|XX)|default)$/.test(s))) problems.push(`${o.key}: bad responses ${responses.join(',')}`);
      for (const requirement of (o.op.security ?? []) as Record<string, unknown>[]) for (const name of Object.keys(requirement)) if (!schemes.includes(name)) problems.push(`${o.key}: unknown security scheme ${name}`);
      for (const tag of (o.op.tags ?? []) as string[]) if (!tags.has(tag)) problems.push(`${o.key}: undeclared tag ${tag}`);
      if (needsKey(o.op) && !(o.op.description as string).match(/^(Requires the scopes? `|Any valid API key)/)) problems.push(`${o.key}: description does not name the scope`);
    }
    expect(problems).toEqual([]);
    // Every $ref points at something.
    expect(collectRefs(doc).filter((r) => resolvePointer(doc, r.ref) === undefined)).toEqual([]);
    // Every schema compiles with a strict JSON Schema 2020-12 validator (unknown keywords and formats are errors).
    const compiler = createSchemaCompiler(doc);
    const schemas = documentSchemas(doc);
    expect(schemas.length).toBeGreaterThan(100);
    const failures = schemas.flatMap((s) => {
      try {
        compiler.compile(s.schema);
        return [];
      } catch (e) {
        return [`${s.at}: ${(e as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
    // The webhooks section has one entry per event type, with the Standard Webhooks headers.
    expect(Object.keys(doc.webhooks ?? {}).sort()).toEqual([...EVENT_TYPES].sort());
    for (const entry of Object.values(doc.webhooks ?? {})) {
      const names = ((entry.post?.parameters ?? []) as { name: string; in: string; required: boolean }[]).filter((p) => p.in === 'header' && p.required).map((p) => p.name);
      expect(names.sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    }
  });

  it('answers every operation as documented, through the whole life of a conversation', async () => {
    // Meta's side: the verification handshake and a customer message.
    const challenge = await api('get', `/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`, null).expect(200);
    expect(challenge.text).toBe('1158201444');
    const waId = nextCustomer();
    await say(waId, 'hello, are you open on Sundays?');
    const id = await conversationOf(waId);
    await api('get', '/healthz', null).expect(200);
    await api('get', '/readyz', null).expect(200);
    await api('get', '/metrics', null).expect(200);

    // Conversations and messages.
    expect((await api('get', '/v1/conversations').expect(200)).body.data.map((c: { id: string }) => c.id)).toContain(id);
    await api('get', `/v1/conversations/${id}`).expect(200);
    await api('get', `/v1/conversations/${id}/messages?limit=5`).expect(200);
    expect((await api('get', `/v1/conversations/${id}/window`).expect(200)).body.open).toBe(true);
    await api('get', `/v1/contacts/${waId}/window?from=${SPEC_PHONE_NUMBER_ID}`).expect(200);
    const sent = await api('post', '/v1/messages').set('Idempotency-Key', `send-${waId}`).send({ to: `+${waId}`, type: 'text', text: { body: 'We open at 9.' } }).expect(202);
    const replayed = await api('post', '/v1/messages').set('Idempotency-Key', `send-${waId}`).send({ to: `+${waId}`, type: 'text', text: { body: 'We open at 9.' } }).expect(202);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    await api('get', `/v1/messages?conversation_id=${id}&direction=out`).expect(200);
    await api('get', `/v1/messages/${sent.body.id}`).expect(200);

    // A human agent's cycle.
    const maria = { id: 'agt_maria', name: 'Maria' };
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
    await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'Maria here.' }, agent: maria }).expect(202);
    await api('post', `/v1/conversations/${id}/notes`).send({ body: 'Asked about Sundays', agent: maria }).expect(201);
    await api('get', `/v1/conversations/${id}/notes`).expect(200);
    await api('post', `/v1/conversations/${id}/handback`).send({ agent: maria }).expect(200);
    await api('post', `/v1/conversations/${id}/close`).expect(200);
    await api('post', `/v1/conversations/${id}/reopen`).send({}).expect(200);

    // The live streams: open, see the headers, leave.
    for (const path of ['/v1/events/stream', `/v1/conversations/${id}/stream`]) {
      const sse = await openSse(`${base}${path}`, { Authorization: `Bearer ${key}` });
      expect(sse.status).toBe(200);
      sse.close();
    }

    // Inbound media.
    const mediaId = String(4_000_000_000_000 + Math.floor(Math.random() * 1e9));
    graph.addMedia(mediaId, randomBytes(2048), 'image/jpeg');
    await postSigned(wrapped(), mediaPayload(waId, mediaId), APP_SECRET).expect(200);
    const media = await waitFor('the stored media', async () => (await f.rows<{ id: string; status: string }>('select id, status from media where meta_media_id = $1', [mediaId])).find((m) => m.status === 'stored'));
    const file = await api('get', `/v1/media/${media.id}`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect((file.body as Buffer).length).toBe(2048);

    // Templates.
    graph.setTemplates(SPEC_WABA_ID, [{ id: '901', name: 'order_ready', language: 'en_US', status: 'APPROVED', category: 'UTILITY', parameter_format: 'POSITIONAL', components: [{ type: 'BODY', text: 'Hi {{1}}' }] }]);
    await api('post', '/v1/templates/sync').expect(200);
    await api('get', '/v1/templates?status=APPROVED').expect(200);

    // The knowledge base and the agent.
    const created = await api('post', '/v1/knowledge').send({ title: 'Opening hours', content: 'We open every day from 9 am to 6 pm, Sundays included.', tags: ['hours'] }).expect(202);
    const docId = created.body.id as string;
    await waitFor('the document to be indexed', async () => (await api('get', `/v1/knowledge/${docId}`).expect(200)).body.status === 'ready');
    await api('get', '/v1/knowledge?tag=hours').expect(200);
    await api('post', '/v1/knowledge/search').send({ query: 'opening hours', limit: 3 }).expect(200);
    await api('patch', `/v1/knowledge/${docId}`).send({ tags: ['hours', 'faq'] }).expect(200);
    await api('patch', `/v1/knowledge/${docId}`).send({ content: 'We open every day from 8 am to 6 pm.' }).expect(202);
    await api('post', '/v1/query').send({ message: 'When do you open?' }).expect(200);
    const streamed = await api('post', '/v1/query')
      .send({ message: 'When do you open?', stream: true })
      .buffer(true)
      .parse((r, cb) => {
        let out = '';
        r.on('data', (c: Buffer) => (out += c.toString('utf8')));
        r.on('end', () => cb(null, out));
      })
      .expect(200);
    expect(streamed.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(streamed.body as string).toContain('event: final');
    await api('delete', `/v1/knowledge/${docId}`).expect(200);
    await api('get', '/v1/agent/settings').expect(200);
    await api('patch', '/v1/agent/settings').send({ persona: { name: 'Bea' }, min_confidence: 0.4 }).expect(200);
    await api('get', '/v1/knowledge-gaps?min_count=1').expect(200);
    await api('get', '/v1/usage').expect(200);

    // Keys and the caller.
    await api('get', '/v1/me').expect(200);
    const minted = await api('post', '/v1/api-keys').send({ name: 'crm', scopes: ['messages:read'] }).expect(201);
    await api('get', '/v1/api-keys?limit=2').expect(200);
    await api('get', `/v1/api-keys/${minted.body.id}`).expect(200);
    await api('delete', `/v1/api-keys/${minted.body.id}`).expect(200);

    // Webhook endpoints and deliveries.
    const hook = await api('post', '/v1/webhooks').send({ url: receiver.url('/crm'), events: ['message.received'], description: 'CRM' }).expect(201);
    await api('get', '/v1/webhooks').expect(200);
    await api('get', `/v1/webhooks/${hook.body.id}`).expect(200);
    await api('patch', `/v1/webhooks/${hook.body.id}`).send({ description: null, active: true }).expect(200);
    await api('post', `/v1/webhooks/${hook.body.id}/rotate-secret`).expect(200);
    const ping = await api('post', `/v1/webhooks/${hook.body.id}/test`).expect(202);
    await waitFor('the test delivery', async () => (await api('get', `/v1/webhooks/${hook.body.id}/deliveries`).expect(200)).body.data[0]?.status === 'succeeded');
    await api('post', `/v1/webhooks/${hook.body.id}/deliveries/${ping.body.id}/redeliver`).expect(202);
    await api('delete', `/v1/webhooks/${hook.body.id}`).expect(200);
  }, 90_000);

  it("answers the sandbox page's API as documented", async () => {
    const ws = await f.rt.services.tenancy.createWorkspace({ name: 'Sandbox Shop' });
    await f.rt.services.tenancy.addNumber({
      workspaceId: ws.id,
      phoneNumberId: '109876543210987',
      wabaId: '209876543210987',
      displayNumber: '+1 555 010 0000',
      accessToken: 'sandbox-access-token',
      appSecret: 'sandbox-app-secret',
      verifyToken: 'sandbox-verify-token',
      sandbox: true,
      source: 'cli',
    });
    const k = (await f.rt.services.apiKeys.create({ workspaceId: ws.id, name: 'page', scopes: ['messages:send', 'conversations:read'], mode: 'test', source: 'cli' })).plaintext;
    const numbers = await api('get', '/sandbox/api/numbers', k).expect(200);
    const n = numbers.body.data[0].id as string;
    const waId = nextCustomer();
    await api('post', `/sandbox/api/numbers/${n}/customers`, k).send({ wa_id: waId, name: 'Sam' }).expect(201);
    await api('get', `/sandbox/api/numbers/${n}/customers`, k).expect(200);
    const sentByCustomer = await api('post', `/sandbox/api/numbers/${n}/customers/${waId}/messages`, k).send({ type: 'text', text: 'Hi, is the shop open?' });
    expect([201, 202]).toContain(sentByCustomer.status);
    await api('get', `/sandbox/api/numbers/${n}/customers/${waId}/messages`, k).expect(200);
    const photo = await api('post', `/sandbox/api/numbers/${n}/media`, k).set('Content-Type', 'image/png').send(PNG).expect(201);
    await api('get', `/sandbox/api/media/${photo.body.id}`, k).expect(200).expect('content-type', 'image/png');
    const fault = await api('post', '/sandbox/api/faults', k).send({ code: 131026, count: 2 }).expect(201);
    await api('get', '/sandbox/api/faults', k).expect(200);
    await api('delete', `/sandbox/api/faults/${fault.body.id}`, k).expect(200);
    await api('delete', '/sandbox/api/faults', k).expect(200);
    const sse = await openSse(`${base}/sandbox/api/stream`, { Authorization: `Bearer ${k}` });
    expect(sse.status).toBe(200);
    sse.close();
    // Its errors: a live number, an unknown one, a bad body.
    expect((await api('get', `/sandbox/api/numbers/${f.numberId}/customers`).expect(403)).body.error.code).toBe('not_a_sandbox_number');
    await api('get', '/sandbox/api/numbers/num_01jd8v2k3m4n5p6q7r8s9t0v1w/customers', k).expect(404);
    await api('post', `/sandbox/api/numbers/${n}/customers`, k).send({ wa_id: 'abc', name: 'Sam' }).expect(400);
    await api('post', `/sandbox/api/numbers/${n}/media`, k).set('Content-Type', 'image/gif').send(Buffer.from('GIF89a')).expect(400);
  });

  it('answers 401 without a key, 403 without the scope and 404 for unknown ids, as documented, on every operation that takes a key', async () => {
    for (const o of operationsOf(doc).filter((x) => needsKey(x.op))) {
      const path = o.path.replace(/\{([^}]+)\}/g, (_m, name: string) => exampleOf(doc, o.op, name));
      const method = o.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
      await api(method, path, null).expect(401);
      const scopes = o.op['x-required-scopes'] as Scope[];
      if (scopes[0]) await api(method, path, limitedKeys.get(scopes[0]) as string).expect(403);
      if ((o.method === 'GET' || o.method === 'DELETE') && /\{id\}/.test(o.path) && !o.path.endsWith('/stream')) await api(method, path).expect(404);
    }
  });

  it('answers the main errors as documented', async () => {
    const waId = nextCustomer();
    // Validation, body type, JSON.
    const bad = await api('post', '/v1/messages').send({ to: '12', type: 'text', text: { body: 'hi' } }).expect(400);
    expect(bad.body.error).toMatchObject({ code: 'parameter_invalid', param: 'to' });
    await api('post', '/v1/messages').set('Content-Type', 'text/plain').send('hello').expect(415);
    await api('post', '/v1/messages').set('Content-Type', 'application/json').send('{"to":').expect(400);
    // The 24-hour window: this customer never wrote.
    const closed = await api('post', '/v1/messages').send({ to: `+${waId}`, type: 'text', text: { body: 'hi' } }).expect(422);
    expect(closed.body.error.code).toBe('window_closed');
    // Idempotency: the same key with another body.
    await say(waId, 'hi');
    const id = await conversationOf(waId);
    await api('post', '/v1/messages').set('Idempotency-Key', `k-${waId}`).send({ to: `+${waId}`, type: 'text', text: { body: 'one' } }).expect(202);
    await api('post', '/v1/messages').set('Idempotency-Key', `k-${waId}`).send({ to: `+${waId}`, type: 'text', text: { body: 'two' } }).expect(422);
    // Conversation states.
    await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'not yet' } }).expect(409);
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: { id: 'agt_a' } }).expect(200);
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: { id: 'agt_b' } }).expect(409);
    // Another workspace's ids are not found.
    await api('get', `/v1/conversations/${id}`, otherKey).expect(404);
    await api('post', `/v1/conversations/${id}/takeover`, otherKey).send({ agent: { id: 'agt_x' } }).expect(404);
    // Bodies refused by their schemas.
    await api('post', '/v1/webhooks').send({ url: receiver.url('/x'), events: ['no.such_event'] }).expect(400);
    await api('post', '/v1/knowledge/search').send({ query: '' }).expect(400);
    await api('get', '/v1/usage?from=yesterday').expect(400);
    await api('get', '/v1/events/stream').set('Last-Event-ID', 'evt_01jd8v2k3m4n5p6q7r8s9t0v1w').expect(400);
    // Meta's side.
    await api('get', '/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1', null).expect(403);
    await request(base).post('/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', `sha256=${'0'.repeat(64)}`).send(textPayload({ from: waId })).expect(401);
  });

  it('delivers every event type of the catalog as the webhooks section documents it, signed', async () => {
    const gone = await api('post', '/v1/webhooks').send({ url: receiver.url('/gone'), events: ['message.received'] }).expect(201);
    receiver.answer((path) => (path === '/gone' ? { status: 410 } : { status: 200 }));
    // Inbound, a handoff and a knowledge gap.
    const waId = nextCustomer();
    await say(waId, 'human please');
    await say(nextCustomer(), 'what is the airspeed of an unladen swallow?');
    const id = await waitFor('the handoff', async () => (await f.rows<{ conversation_id: string }>(`select conversation_id from events where type = 'conversation.handoff_requested'`))[0]?.conversation_id);
    // A human agent's cycle, and the statuses of the reply.
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: { id: 'agt_1', name: 'Maria' } }).expect(200);
    const reply = await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'Maria here' } }).expect(202);
    const wamid = await waitFor('the send', async () => (await f.rows<{ wamid: string | null }>('select wamid from messages where id = $1', [reply.body.id]))[0]?.wamid ?? undefined);
    await postSigned(wrapped(), statusPayload([{ wamid, status: 'delivered' }]), APP_SECRET).expect(200);
    await postSigned(wrapped(), statusPayload([{ wamid, status: 'read' }]), APP_SECRET).expect(200);
    await api('post', `/v1/conversations/${id}/notes`).send({ body: 'VIP' }).expect(201);
    await api('post', `/v1/conversations/${id}/handback`).send({}).expect(200);
    await api('post', `/v1/conversations/${id}/close`).send({}).expect(200);
    await api('post', `/v1/conversations/${id}/reopen`).send({}).expect(200);
    // A send Meta refuses for good.
    graph.failNext(/\/messages$/, 400, { code: 131026, message: 'Message undeliverable' });
    await api('post', '/v1/messages').send({ to: `+${waId}`, type: 'text', text: { body: 'this one fails' } }).expect(202);
    // A template update from Meta, and a ping.
    await postSigned(
      wrapped(),
      { object: 'whatsapp_business_account', entry: [{ id: SPEC_WABA_ID, time: 1750000000, changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED', message_template_id: 77, message_template_name: 'hello', message_template_language: 'en_US', reason: 'NONE' } }] }] },
      APP_SECRET,
    ).expect(200);
    await api('post', `/v1/webhooks/${allEndpoint.id}/test`).expect(202);

    const types = (r: { body: string }) => (JSON.parse(r.body) as { type: string }).type;
    await waitFor('a delivery of every event type', () => EVENT_TYPES.every((t) => receiver.to('/all').some((r) => types(r) === t)), 30_000).catch(() => undefined);
    expect(new Set(receiver.to('/all').map(types))).toEqual(new Set(EVENT_TYPES));
    expect((await api('get', `/v1/webhooks/${gone.body.id}`).expect(200)).body).toMatchObject({ active: false, disabled_reason: 'gone' });

    const compiler = createSchemaCompiler(doc);
    const verifier = new Webhook(allEndpoint.secret.replace(/^whsec_/, ''));
    const problems: string[] = [];
    for (const r of receiver.to('/all')) {
      const body = JSON.parse(r.body) as { type: string; id: string };
      const post = doc.webhooks?.[body.type]?.post;
      if (!post) {
        problems.push(`${body.type}: not in the webhooks section`);
        continue;
      }
      const schema = (post.requestBody as { content: Record<string, { schema: unknown }> }).content['application/json']?.schema;
      const validate = compiler.compile(schema);
      if (!validate(JSON.parse(r.body))) problems.push(`${body.type} ${body.id}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
      for (const p of (post.parameters ?? []) as { name: string; schema: unknown }[]) {
        const value = r.headers[p.name];
        if (value === undefined || !compiler.compile(p.schema)(value)) problems.push(`${body.type} ${body.id}: header ${p.name} is ${String(value)}`);
      }
      expect(() => verifier.verify(r.body, r.headers)).not.toThrow();
      expect(r.headers['webhook-id']).toBe(body.id);
    }
    // The outbox rows too (the live stream sends the same envelope).
    const rows = await f.rows<{ id: string; type: string; created_at: Date; workspace_id: string; conversation_id: string | null; data: unknown }>(
      'select id, type, created_at, workspace_id, conversation_id, data from events',
    );
    for (const e of rows) {
      const post = doc.webhooks?.[e.type]?.post;
      const schema = (post?.requestBody as { content: Record<string, { schema: unknown }> } | undefined)?.content['application/json']?.schema;
      const envelope = { id: e.id, type: e.type, created_at: e.created_at.toISOString(), workspace_id: e.workspace_id, conversation_id: e.conversation_id, data: e.data };
      const validate = schema ? compiler.compile(schema) : undefined;
      if (!validate?.(envelope)) problems.push(`outbox ${e.type} ${e.id}: ${JSON.stringify(validate?.errors?.slice(0, 3) ?? 'undocumented type')}`);
    }
    expect(problems).toEqual([]);
  }, 90_000);

  it('over its rate limit, a key gets the documented 429', async () => {
    const limited = await createIngressFixture({ RATE_LIMIT_PER_MINUTE: '2' });
    const own = createResponseRecorder(doc);
    try {
      const k = (await limited.rt.services.apiKeys.create({ workspaceId: limited.workspaceId, name: 'k', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
      const target = own.wrap(limited.rt.app as Express) as unknown as Express;
      await request(target).get('/v1/me').set('Authorization', `Bearer ${k}`).expect(200);
      await request(target).get('/v1/me').set('Authorization', `Bearer ${k}`).expect(200);
      const refused = await request(target).get('/v1/me').set('Authorization', `Bearer ${k}`).expect(429);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(own.problems).toEqual([]);
      recorder.recorded.push(...own.recorded);
    } finally {
      await limited.rt.teardown();
    }
  });

  // Last: it reads what the tests above recorded.
  it('exercised every documented operation with a success and its errors', () => {
    const gaps: string[] = [];
    for (const o of operationsOf(doc)) {
      const seen = recorder.statuses(o.key);
      if (!seen.some((s) => s >= 200 && s < 300)) gaps.push(`${o.key}: no success (saw ${seen.join(', ') || 'nothing'})`);
      if (needsKey(o.op) && !seen.includes(401)) gaps.push(`${o.key}: no 401`);
    }
    expect(gaps).toEqual([]);
    const documentedErrors = new Set(operationsOf(doc).flatMap((o) => recorder.statuses(o.key).filter((s) => s >= 400)));
    expect([...documentedErrors].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 409, 415, 422, 429]));
  });
});

const needsKey = (op: Record<string, unknown>) => ((op.security ?? []) as Record<string, unknown>[]).some((s) => 'apiKey' in s);

/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/eL9GtQAAAABJRU5ErkJggg==', 'base64');

/** A path parameter's example: an id of the right kind that does not exist. */
function exampleOf(doc: OpenApiDoc, op: Record<string, unknown>, name: string): string {
  const param = ((op.parameters ?? []) as object[]).map((p) => deref<{ in: string; name: string; schema?: { example?: string } }>(doc, p)).find((p) => p.in === 'path' && p.name === name);
  const example = param?.schema?.example;
  if (typeof example !== 'string') throw new Error(`no example for path parameter ${name}`);
  return example;
}

function mediaPayload(from: string, mediaId: string) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: SPEC_WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: SPEC_PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Ana Lima' }, wa_id: from }],
              messages: [{ from, id: uniqueWamid(), timestamp: String(Math.floor(Date.now() / 1000)), type: 'image', image: { id: mediaId, mime_type: 'image/jpeg' } }],
            },
          },
        ],
      },
    ],
  };
}
