import type { Express } from 'express';
import request from 'supertest';
import { createConversationsRepo } from '../../src/adapters/postgres/conversations.repo';
import { createConversationsService } from '../../src/domain/conversations/conversations.service';
import { outboundMessageSchema } from '../../src/domain/messages/outbound.schema';
import { SCOPES } from '../../src/domain/keys/scopes';
import { parseInput } from '../../src/http/validate';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload } from '../support/meta';
import { startOpenAiEmulator, type ChatRequestView, type OpenAiEmulator } from '../support/openai-emulator';
import { waitFor } from '../support/wait';

/**
 * Human agents end to end: the conversations API, takeover / reply / handback against the real
 * agent (LangChain against the OpenAI emulator) and the real send pipeline (Graph emulator).
 */
const botAnswer = (req: ChatRequestView) => {
  const long = req.lastUser.includes('LONG');
  const reply = long ? Array.from({ length: 3 }, (_, i) => `Part ${i + 1}: ${'more words here '.repeat(250)}`).join('\n\n') : `Bot: ${req.lastUser.slice(-60)}`;
  return { json: { reply, confidence: 0.9, source_chunk_ids: [], handoff: { requested: false, reason: null } } };
};

describe('conversations and human agents', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let openai: OpenAiEmulator;
  let key: string;
  let otherKey: string;
  let readOnlyKey: string;
  let customer = 16505560000;

  const app = () => f.rt.app as Express;
  const nextCustomer = () => String(++customer);
  const say = (from: string, body: string, name = 'Ana Lima') => postSigned(app(), textPayload({ from, body, name }), APP_SECRET).expect(200);
  const texts = (to: string) =>
    graph.calls
      .filter((c) => c.path.endsWith('/messages') && ((c.body as { to?: string }).to ?? '').replace(/^\+/, '') === to && (c.body as { type?: string }).type === 'text')
      .map((c) => (c.body as { text: { body: string } }).text.body);
  const api = (method: 'get' | 'post', path: string, k = key) => request(app())[method](path).set('Authorization', `Bearer ${k}`);
  const conversationOf = async (waId: string) =>
    waitFor('the conversation', async () => {
      const r = await f.rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]);
      return r[0]?.id;
    });
  const agentRuns = async () => (await f.agentQueue.getJobCounts('completed')).completed ?? 0;
  const maria = { id: 'agt_maria', name: 'Maria' };
  const joao = { id: 'agt_joao', name: 'João' };

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    openai = await startOpenAiEmulator();
    f = await createIngressFixture(
      {
        WHATSAPP_GRAPH_URL: graph.url,
        OPENAI_API_KEY: 'sk-test-conversations',
        OPENAI_BASE_URL: openai.url,
        LLM_MODEL: 'gpt-4o-mini',
        AGENT_DEBOUNCE_MS: '150',
        HUMAN_IDLE_TIMEOUT: '30m',
      },
      { workers: true },
    );
    // One message a second on this number: queued bot messages wait long enough to be caught.
    await f.rt.db.pool.query('update phone_numbers set messages_per_second = 1 where id = $1', [f.numberId]);
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'console', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    readOnlyKey = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'ro', scopes: ['conversations:read'], mode: 'live', source: 'cli' })).plaintext;
    const other = await f.rt.services.tenancy.createWorkspace({ name: 'Other Shop' });
    otherKey = (await f.rt.services.apiKeys.create({ workspaceId: other.id, name: 'other', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });

  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
    await openai.close();
  });

  beforeEach(() => {
    openai.reset();
    openai.onChat(botAnswer);
  });

  it('runs the whole takeover cycle: bot answers, agent takes over, bot is silent, agent replies, hands back, bot answers again', async () => {
    const waId = nextCustomer();
    await say(waId, 'hello there');
    await waitFor('the bot answer', async () => texts(waId).length === 1);
    const id = await conversationOf(waId);

    const got = await api('get', `/v1/conversations/${id}`).expect(200);
    expect(got.body).toMatchObject({
      object: 'conversation',
      id,
      mode: 'bot',
      status: 'open',
      assignee: null,
      contact: { wa_id: waId, name: 'Ana Lima' },
      number: { id: f.numberId, phone_number_id: '106540352242922' },
      window: { open: true, can_send_freeform: true },
    });
    expect(got.body.last_message).toMatchObject({ direction: 'out', author: 'bot' });

    const taken = await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
    expect(taken.body).toMatchObject({ mode: 'human', assignee: maria, cancelled_message_ids: [] });

    // The customer writes while a person holds the conversation: the agent job runs and stays silent.
    const before = await agentRuns();
    await say(waId, 'are you there?');
    await waitFor('the agent job to run', async () => (await agentRuns()) > before);
    expect(texts(waId)).toHaveLength(1);
    const listed = await api('get', '/v1/conversations?mode=human').expect(200);
    expect(listed.body.data.find((c: { id: string }) => c.id === id)).toMatchObject({ unread_count: 1, last_message: { author: 'customer' } });

    const reply = await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'Maria here, how can I help?' } }).expect(202);
    expect(reply.body).toMatchObject({ object: 'message', author: 'agent', agent: maria, status: 'queued', conversation_id: id });
    await waitFor('the agent reply at Meta', async () => texts(waId).includes('Maria here, how can I help?'));
    expect((await api('get', `/v1/conversations/${id}`).expect(200)).body.unread_count).toBe(0);

    // Another agent cannot take it without force.
    const refused = await api('post', `/v1/conversations/${id}/takeover`).send({ agent: joao }).expect(409);
    expect(refused.body.error).toMatchObject({ type: 'conflict_error', code: 'conversation_taken', assignee: maria });
    const forced = await api('post', `/v1/conversations/${id}/takeover`).send({ agent: joao, force: true }).expect(200);
    expect(forced.body.assignee).toEqual(joao);

    const back = await api('post', `/v1/conversations/${id}/handback`).send({ agent: joao }).expect(200);
    expect(back.body).toMatchObject({ mode: 'bot', assignee: null });
    // Default setting: what the customer wrote during the takeover is not answered by the bot later.
    await new Promise((r) => setTimeout(r, 600));
    expect(texts(waId)).toHaveLength(2);
    await say(waId, 'thanks, one more question');
    await waitFor('the bot to answer again', async () => texts(waId).length === 3);
    expect(texts(waId)[2]).toContain('one more question');

    const transcript = await api('get', `/v1/conversations/${id}/messages?limit=200`).expect(200);
    expect(transcript.body.data.map((m: { author: string }) => m.author)).toEqual(['bot', 'customer', 'agent', 'customer', 'bot', 'customer']);
    const types = (await f.rows<{ type: string }>('select type from events where conversation_id = $1 order by seq', [id])).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['conversation.takeover', 'agent.replied', 'conversation.handback']));
    expect(types.filter((t) => t === 'conversation.takeover')).toHaveLength(2);
  });

  it('cancels the bot messages queued before a takeover: they never reach Meta', async () => {
    const waId = nextCustomer();
    await say(waId, 'tell me everything LONG');
    // Three parts at one message a second: the first goes out, the others wait their turn.
    await waitFor('the first part at Meta', async () => texts(waId).length === 1);
    const id = await conversationOf(waId);
    const taken = await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
    expect(taken.body.cancelled_message_ids).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(texts(waId)).toHaveLength(1);
    const rows = await f.rows<{ status: string }>("select status from messages where conversation_id = $1 and author = 'bot' order by id", [id]);
    // (Which part went first is up to the send queue; exactly one did.)
    expect(rows.map((r) => r.status).sort()).toEqual(['cancelled', 'cancelled', expect.stringMatching(/sent|delivered/)]);
    await api('post', `/v1/conversations/${id}/handback`).send({}).expect(200);
  });

  it('discards an answer the model was still writing when the agent took over (race)', async () => {
    const waId = nextCustomer();
    openai.setDelay(1_500);
    const chats = openai.requests.chat.length;
    await say(waId, 'a slow question');
    await waitFor('the model to be asked', async () => openai.requests.chat.length > chats);
    const id = await conversationOf(waId);
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
    const runs = await agentRuns();
    await waitFor('the agent job to finish', async () => (await agentRuns()) > runs || (await f.agentQueue.getActiveCount()) === 0, 10_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(texts(waId)).toEqual([]);
    expect(await f.rows("select 1 from messages where conversation_id = $1 and author = 'bot'", [id])).toEqual([]);
    await api('post', `/v1/conversations/${id}/handback`).send({}).expect(200);
  });

  it('refuses replies unless the conversation is taken over, and checks the body and the window', async () => {
    const waId = nextCustomer();
    await say(waId, 'hi');
    await waitFor('the bot answer', async () => texts(waId).length === 1);
    const id = await conversationOf(waId);
    const notTaken = await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'hello' } }).expect(409);
    expect(notTaken.body.error).toMatchObject({ code: 'not_taken_over', mode: 'bot' });
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
    const withTo = await api('post', `/v1/conversations/${id}/reply`).send({ to: '+15550001111', type: 'text', text: { body: 'x' } }).expect(400);
    expect(withTo.body.error.param).toBe('to');
    const tooLong = await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'x'.repeat(4097) } }).expect(400);
    expect(tooLong.body.error.param).toBe('text.body');
    await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text' }).expect(400);
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: { name: 'no id' } }).expect(400);
    // Outside the 24-hour window only templates go out.
    await f.rt.db.pool.query("update conversations set window_expires_at = now() - interval '1 hour' where id = $1", [id]);
    const closed = await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'late' } }).expect(422);
    expect(closed.body.error.code).toBe('window_closed');
    expect(texts(waId)).toHaveLength(1);
    await api('post', `/v1/conversations/${id}/handback`).send({}).expect(200);
    expect((await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'after' } }).expect(409)).body.error.code).toBe('not_taken_over');
  });

  it('after a handback, the bot answers what the customer wrote after the last agent reply when the workspace says so', async () => {
    await request(app()).patch('/v1/agent/settings').set('Authorization', `Bearer ${key}`).send({ answer_after_handback: true }).expect(200);
    try {
      const waId = nextCustomer();
      await say(waId, 'first');
      await waitFor('the bot answer', async () => texts(waId).length === 1);
      const id = await conversationOf(waId);
      await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
      await say(waId, 'seen by maria');
      await api('post', `/v1/conversations/${id}/reply`).send({ type: 'text', text: { body: 'noted' } }).expect(202);
      await waitFor('the agent reply at Meta', async () => texts(waId).includes('noted'));
      await say(waId, 'written after her reply');
      await new Promise((r) => setTimeout(r, 400));
      expect(texts(waId)).toEqual([expect.any(String), 'noted']);
      await api('post', `/v1/conversations/${id}/handback`).send({}).expect(200);
      await waitFor('the bot to answer the unanswered message', async () => texts(waId).length === 3);
      expect(texts(waId)[2]).toContain('written after her reply');
      expect(openai.requests.chat.at(-1)?.lastUser).not.toContain('seen by maria');
    } finally {
      await request(app()).patch('/v1/agent/settings').set('Authorization', `Bearer ${key}`).send({ answer_after_handback: false }).expect(200);
    }
  });

  it('hands a conversation back to the bot after the idle timeout (fake clock), not before, and not when disabled', async () => {
    const waId = nextCustomer();
    await say(waId, 'idle test');
    await waitFor('the bot answer', async () => texts(waId).length === 1);
    const id = await conversationOf(waId);
    await api('post', `/v1/conversations/${id}/takeover`).send({ agent: maria }).expect(200);
    let clock = Date.now();
    const service = (timeoutMs: number) =>
      createConversationsService({
        repo: createConversationsRepo(f.rt.db.pool),
        outbound: f.rt.services.outbound,
        parseMessage: (b) => parseInput(outboundMessageSchema, b),
        answerAfterHandback: async () => false,
        scheduleAgent: async () => undefined,
        humanIdleTimeoutMs: timeoutMs,
        logger: f.rt.logger,
        now: () => new Date(clock),
      });
    clock += 29 * 60_000;
    expect(await service(30 * 60_000).handBackIdle()).toBe(0);
    clock += 2 * 60_000;
    expect(await service(0).handBackIdle()).toBe(0);
    expect((await api('get', `/v1/conversations/${id}`).expect(200)).body.mode).toBe('human');
    expect(await service(30 * 60_000).handBackIdle()).toBeGreaterThanOrEqual(1);
    expect((await api('get', `/v1/conversations/${id}`).expect(200)).body).toMatchObject({ mode: 'bot', assignee: null });
    const [event] = await f.rows<{ data: { reason: string; agent: { id: string } } }>(
      "select data from events where conversation_id = $1 and type = 'conversation.handback'",
      [id],
    );
    expect(event?.data).toMatchObject({ reason: 'idle_timeout', agent: { id: maria.id } });
  });

  it('keeps internal notes that are never sent, and closes and reopens', async () => {
    const waId = nextCustomer();
    await say(waId, 'notes test');
    await waitFor('the bot answer', async () => texts(waId).length === 1);
    const id = await conversationOf(waId);
    const calls = graph.calls.length;
    const note = await api('post', `/v1/conversations/${id}/notes`).send({ agent: maria, body: 'VIP customer, be nice' }).expect(201);
    expect(note.body).toMatchObject({ object: 'note', conversation_id: id, agent: maria, body: 'VIP customer, be nice' });
    await api('post', `/v1/conversations/${id}/notes`).send({ body: '' }).expect(400);
    const notes = await api('get', `/v1/conversations/${id}/notes`).expect(200);
    expect(notes.body.data.map((n: { id: string }) => n.id)).toEqual([note.body.id]);
    const closed = await api('post', `/v1/conversations/${id}/close`).send({ agent: maria }).expect(200);
    expect(closed.body).toMatchObject({ status: 'closed', mode: 'bot' });
    expect((await api('get', '/v1/conversations?status=closed').expect(200)).body.data.map((c: { id: string }) => c.id)).toContain(id);
    const reopened = await api('post', `/v1/conversations/${id}/reopen`).send({}).expect(200);
    expect(reopened.body.status).toBe('open');
    await api('post', `/v1/conversations/${id}/close`).send({}).expect(200);
    // A customer writing again reopens it.
    await say(waId, 'back again');
    await waitFor('the conversation to reopen', async () => (await api('get', `/v1/conversations/${id}`)).body.status === 'open');
    await new Promise((r) => setTimeout(r, 300));
    expect(graph.calls.slice(calls).some((c) => JSON.stringify(c.body).includes('VIP customer'))).toBe(false);
  });

  it('lists with filters and cursor pagination, most recent activity first', async () => {
    const a = nextCustomer();
    const b = nextCustomer();
    await say(a, 'list a', 'Zelda Quinn');
    await say(b, 'list b', 'Yuri Park');
    const idA = await conversationOf(a);
    const idB = await conversationOf(b);
    await api('post', `/v1/conversations/${idA}/takeover`).send({ agent: joao }).expect(200);
    const byName = await api('get', '/v1/conversations?q=zelda').expect(200);
    expect(byName.body.data.map((c: { id: string }) => c.id)).toEqual([idA]);
    const byNumber = await api('get', `/v1/conversations?q=${b.slice(-6)}`).expect(200);
    expect(byNumber.body.data.map((c: { id: string }) => c.id)).toEqual([idB]);
    const byAssignee = await api('get', `/v1/conversations?assignee=${joao.id}`).expect(200);
    expect(byAssignee.body.data.map((c: { id: string }) => c.id)).toEqual([idA]);
    expect((await api('get', '/v1/conversations?number=106540352242922&limit=200').expect(200)).body.data.length).toBeGreaterThanOrEqual(2);
    expect((await api('get', '/v1/conversations?number=999').expect(200)).body.data).toEqual([]);
    const since = new Date(Date.now() + 60_000).toISOString();
    expect((await api('get', `/v1/conversations?updated_since=${encodeURIComponent(since)}`).expect(200)).body.data).toEqual([]);

    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await api('get', `/v1/conversations?limit=2${cursor ? `&starting_after=${cursor}` : ''}`).expect(200);
      all.push(...page.body.data.map((c: { id: string }) => c.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const expected = (await f.rows<{ id: string }>('select id from conversations where workspace_id = $1 order by last_activity_at desc, id desc', [f.workspaceId])).map((r) => r.id);
    expect(all).toEqual(expected);
    expect(all[0]).toBe(idB);

    for (const bad of ['mode=robot', 'limit=0', 'updated_since=yesterday', 'status=archived']) {
      const r = await api('get', `/v1/conversations?${bad}`).expect(400);
      expect(r.body.error.param).toBe(bad.split('=')[0]);
    }
    await api('post', `/v1/conversations/${idA}/handback`).send({}).expect(200);
  });

  it("answers 404 for another workspace's conversation on every route, 401 without a key and 403 without the scope", async () => {
    const waId = nextCustomer();
    await say(waId, 'isolation');
    const id = await conversationOf(waId);
    const routes: ['get' | 'post', string, object?][] = [
      ['get', `/v1/conversations/${id}`],
      ['get', `/v1/conversations/${id}/messages`],
      ['get', `/v1/conversations/${id}/notes`],
      ['get', `/v1/conversations/${id}/window`],
      ['get', `/v1/conversations/${id}/stream`],
      ['post', `/v1/conversations/${id}/takeover`, { agent: maria }],
      ['post', `/v1/conversations/${id}/reply`, { type: 'text', text: { body: 'x' } }],
      ['post', `/v1/conversations/${id}/handback`, {}],
      ['post', `/v1/conversations/${id}/close`, {}],
      ['post', `/v1/conversations/${id}/reopen`, {}],
      ['post', `/v1/conversations/${id}/notes`, { body: 'x' }],
    ];
    for (const [method, path, body] of routes) {
      const r = await api(method, path, otherKey).send(body);
      expect([path, r.status, r.body.error?.code]).toEqual([path, 404, 'resource_missing']);
      await request(app())[method](path).send(body).expect(401);
    }
    expect((await api('get', '/v1/conversations', otherKey).expect(200)).body.data).toEqual([]);
    await api('get', '/v1/conversations/conv_nope').expect(404);
    await api('get', `/v1/conversations/${id}`, readOnlyKey).expect(200);
    const forbidden = await api('post', `/v1/conversations/${id}/takeover`, readOnlyKey).send({ agent: maria }).expect(403);
    expect(forbidden.body.error.code).toBe('missing_scope');
    expect((await api('get', `/v1/conversations/${id}`).expect(200)).body.mode).toBe('bot');
  });
});
