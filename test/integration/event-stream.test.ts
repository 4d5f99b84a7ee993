import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { SCOPES } from '../../src/domain/keys/scopes';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, statusPayload, textPayload } from '../support/meta';
import { openSse, type SseClient, type SseEvent } from '../support/sse-client';
import { waitFor } from '../support/wait';

/**
 * The live stream over a real HTTP server: outbox events, numbered by the dispatcher, fanned out
 * through Redis pub/sub, read with fetch like the console does.
 */
interface Envelope {
  id: string;
  type: string;
  conversation_id: string | null;
  workspace_id: string;
  data: { message?: { id: string; author: string; status: string; content: { text?: string } } };
}
const parse = (e: SseEvent) => JSON.parse(e.data) as Envelope;

describe('live event stream (SSE)', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let server: http.Server;
  let base: string;
  let key: string;
  let otherKey: string;
  const clients: SseClient[] = [];
  let customer = 16505570000;

  const app = () => f.rt.app as Express;
  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });
  const open = async (path: string, headers: Record<string, string> = {}, k = key) => {
    const c = await openSse(`${base}${path}`, { ...auth(k), ...headers });
    clients.push(c);
    return c;
  };
  const say = (from: string, body: string) => postSigned(app(), textPayload({ from, body }), APP_SECRET).expect(200);
  const conversationOf = (waId: string) =>
    waitFor('the conversation', async () => (await f.rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]))[0]?.id);
  /** The workspace's dispatched events after `afterId` (all when undefined), in stream order. */
  const dispatchedAfter = async (afterId?: string) =>
    (await f.rows<{ id: string }>(
      `select id from events where workspace_id = $1 and stream_seq is not null
          and stream_seq > coalesce((select stream_seq from events where id = $2), 0) order by stream_seq`,
      [f.workspaceId, afterId ?? null],
    )).map((r) => r.id);

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture({ WHATSAPP_GRAPH_URL: graph.url, SSE_HEARTBEAT_MS: '300', EVENT_DISPATCH_INTERVAL_MS: '20' }, { workers: true });
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'console', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    const other = await f.rt.services.tenancy.createWorkspace({ name: 'Other Shop' });
    otherKey = (await f.rt.services.apiKeys.create({ workspaceId: other.id, name: 'other', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    server = http.createServer(app());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    const last = await open('/v1/events/stream');
    await f.rt.teardown();
    // A shutdown ends open streams instead of waiting for their clients.
    await last.until('the stream to end', () => last.ended(), 5_000).catch(() => undefined);
    const ended = last.ended();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await graph.close();
    expect(ended).toBe(true);
  });

  it('delivers message.received, the agent reply and its statuses in order, and resumes after a disconnect without gaps or repeats', async () => {
    const c1 = await open('/v1/events/stream');
    expect(c1.status).toBe(200);
    const waId = String(++customer);
    await say(waId, 'first message');
    await c1.until('message.received', (es) => es.some((e) => e.event === 'message.received'));
    const id = await conversationOf(waId);
    await request(app()).post(`/v1/conversations/${id}/takeover`).set(auth()).send({ agent: { id: 'agt_1', name: 'Maria' } }).expect(200);
    const reply = await request(app()).post(`/v1/conversations/${id}/reply`).set(auth()).send({ type: 'text', text: { body: 'hello from Maria' } }).expect(202);
    await c1.until('message.sent', (es) => es.some((e) => e.event === 'message.sent'));
    const wamid = (await f.rows<{ wamid: string }>('select wamid from messages where id = $1', [reply.body.id]))[0]?.wamid as string;
    await postSigned(app(), statusPayload([{ wamid, status: 'delivered' }]), APP_SECRET).expect(200);
    await postSigned(app(), statusPayload([{ wamid, status: 'read' }]), APP_SECRET).expect(200);
    await c1.until('message.read', (es) => es.some((e) => e.event === 'message.read'));

    const kinds = c1.events.map((e) => e.event);
    expect(kinds).toEqual(['conversation.created', 'message.received', 'conversation.takeover', 'agent.replied', 'message.sent', 'message.delivered', 'message.read']);
    const envelopes = c1.events.map(parse);
    expect(envelopes.every((e) => e.workspace_id === f.workspaceId && e.conversation_id === id)).toBe(true);
    expect(envelopes[1]?.data.message?.content.text).toBe('first message');
    expect(envelopes.slice(3).map((e) => e.data.message?.id)).toEqual(Array(4).fill(reply.body.id));
    // The SSE id is the outbox event id, in the stream's order.
    expect(c1.events.map((e) => e.id)).toEqual(await dispatchedAfter());

    // Disconnect; meanwhile more happens.
    const lastSeen = c1.events.at(-1)?.id as string;
    c1.close();
    await say(waId, 'while you were away');
    await say(String(++customer), 'another customer');
    await waitFor('the events to be dispatched', async () => (await dispatchedAfter(lastSeen)).length >= 3);

    const c2 = await open('/v1/events/stream', { 'Last-Event-ID': lastSeen });
    const missed = await dispatchedAfter(lastSeen);
    await c2.until('the missed events', (es) => es.length >= missed.length);
    await say(waId, 'after the reconnect');
    await c2.until('the live event', (es) => es.some((e) => e.event === 'message.received' && parse(e).data.message?.content.text === 'after the reconnect'));
    await new Promise((r) => setTimeout(r, 300));
    const all = [...c1.events, ...c2.events].map((e) => e.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(await dispatchedAfter());
    expect(c2.comments).toContain('ping');
  });

  it("streams one conversation's events only, and 404s another workspace's conversation", async () => {
    const a = String(++customer);
    const b = String(++customer);
    await say(a, 'conversation a');
    const idA = await conversationOf(a);
    // A stream without Last-Event-ID starts after what is on the stream already.
    await waitFor('the dispatcher to catch up', async () => (await f.rows('select 1 from events where dispatched_at is null')).length === 0);
    const stream = await open(`/v1/conversations/${idA}/stream`);
    expect(stream.status).toBe(200);
    await say(b, 'conversation b');
    await say(a, 'conversation a again');
    await stream.until('the message of a', (es) => es.some((e) => e.event === 'message.received'));
    await new Promise((r) => setTimeout(r, 300));
    expect(stream.events.map((e) => parse(e).conversation_id)).toEqual([idA]);
    expect(parse(stream.events[0] as SseEvent).data.message?.content.text).toBe('conversation a again');

    const foreign = await openSse(`${base}/v1/conversations/${idA}/stream`, auth(otherKey));
    expect(foreign.status).toBe(404);
    const none = await openSse(`${base}/v1/events/stream`, {});
    expect(none.status).toBe(401);
  });

  it('refuses an unknown Last-Event-ID with a clear error, and one from another workspace', async () => {
    const res = await request(app()).get('/v1/events/stream').set(auth()).set('Last-Event-ID', 'evt_nope').expect(400);
    expect(res.body.error).toMatchObject({ code: 'unknown_last_event_id', param: 'Last-Event-ID' });
    const [mine] = await dispatchedAfter();
    const cross = await request(app()).get('/v1/events/stream').set(auth(otherKey)).set('Last-Event-ID', mine as string).expect(400);
    expect(cross.body.error.code).toBe('unknown_last_event_id');
  });
});
