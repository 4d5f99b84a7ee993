import type { Express } from 'express';
import request from 'supertest';
import { LookAgainError } from '../../src/domain/agent/agent.service';
import { SCOPES } from '../../src/domain/keys/scopes';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload, uniqueWamid } from '../support/meta';
import { startOpenAiEmulator, type ChatRequestView, type OpenAiEmulator } from '../support/openai-emulator';
import { waitFor } from '../support/wait';

/**
 * The agent end to end with the real LangChain / @langchain/openai code against a local
 * OpenAI-compatible emulator, and the real send pipeline against the Graph emulator.
 */
/** The passages the prompt offered, as [id, title, content]. */
function passagesOf(req: ChatRequestView): { id: string; title: string; content: string }[] {
  return [...req.system.matchAll(/\[(chk_[0-9a-z]+)\] \(([^)]*)\)\n([^\n]*)/g)].map((m) => ({ id: m[1] as string, title: m[2] as string, content: m[3] as string }));
}

/** A model that answers from the first passage whose title it finds in the question's words. */
function groundedAnswer(req: ChatRequestView) {
  const p = passagesOf(req)[0];
  if (!p) return { json: { reply: '', confidence: 0, source_chunk_ids: [], handoff: { requested: true, reason: 'nothing in the knowledge base' } } };
  return { json: { reply: `From our notes: ${p.content}`, confidence: 0.92, source_chunk_ids: [p.id], handoff: { requested: false, reason: null } } };
}

describe('the AI agent', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let openai: OpenAiEmulator;
  let key: string;
  let hoursDoc: string;
  let customer = 16505550000;

  const sends = (to: string) => graph.calls.filter((c) => c.path.endsWith('/messages') && ((c.body as { to?: string }).to ?? '').replace(/^\+/, '') === to && (c.body as { type?: string }).type === 'text');
  const textOf = (c: { body: unknown }) => (c.body as { text: { body: string } }).text.body;
  const nextCustomer = () => String(++customer);
  const say = (from: string, body: string) => postSigned(f.rt.app as Express, textPayload({ from, body }), APP_SECRET).expect(200);
  const conversationOf = async (waId: string) =>
    (await f.rows<{ id: string; mode: string; handoff_reason: string | null }>(
      'select v.id, v.mode, v.handoff_reason from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1',
      [waId],
    ))[0];

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    openai = await startOpenAiEmulator();
    f = await createIngressFixture(
      {
        WHATSAPP_GRAPH_URL: graph.url,
        OPENAI_API_KEY: 'sk-test-agent',
        OPENAI_BASE_URL: openai.url,
        LLM_MODEL: 'gpt-4o-mini',
        LLM_MAX_RETRIES: '2',
        AGENT_DEBOUNCE_MS: '400',
        AGENT_MIN_CONFIDENCE: '0.5',
        KNOWLEDGE_GAP_THRESHOLD: '2',
        AGENT_HANDOFF_KEYWORDS: 'lawyer',
      },
      { workers: true },
    );
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'kb', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    const created = await request(f.rt.app as Express)
      .post('/v1/knowledge')
      .set('Authorization', `Bearer ${key}`)
      .send({ title: 'Opening hours', content: 'We are open Monday to Friday from 7am to 6pm and weekends from 8am to 4pm.' })
      .expect(202);
    hoursDoc = created.body.id;
    await waitFor('the document to be indexed', async () => (await f.rt.services.knowledge.get(f.workspaceId, hoursDoc)).status === 'ready');
  });

  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
    await openai.close();
  });

  beforeEach(() => {
    openai.reset();
    openai.onChat(groundedAnswer);
  });
  afterEach(() => expect(openai.handlerErrors).toEqual([]));
  afterAll(() => {
    if (process.env.DEBUG_AGENT) console.log(f.rt.logs.lines().filter((l) => Number(l.level) >= 30).map((l) => JSON.stringify(l)).join('\n'));
  });

  it('answers a question from the seeded document, cites it, and sends the reply through the send pipeline', async () => {
    const waId = nextCustomer();
    await say(waId, 'When are you open on Saturday?');
    const [sent] = await waitFor('the reply at Meta', async () => sends(waId).length > 0 && sends(waId));
    expect(textOf(sent as never)).toContain('7am to 6pm');
    const chat = openai.requests.chat.at(-1) as ChatRequestView;
    expect(chat.lastUser).toContain('When are you open on Saturday?');
    expect(chat.system).toContain('Opening hours');
    const [reply] = await f.rows<{ author: string; status: string; answer: { kind: string; sources: { document_id: string }[]; confidence: number; extractive: boolean } }>(
      "select author, status, answer from messages where direction = 'out' and recipient = $1",
      [`+${waId}`],
    );
    expect(reply?.author).toBe('bot');
    expect(reply?.answer.kind).toBe('answer');
    expect(reply?.answer.sources.map((s) => s.document_id)).toEqual([hoursDoc]);
    expect(reply?.answer.extractive).toBe(false);
    await waitFor('the reply marked sent', async () => (await f.rows("select 1 from messages where recipient = $1 and status = 'sent'", [`+${waId}`])).length > 0);
    const usage = await request(f.rt.app as Express).get('/v1/usage').set('Authorization', `Bearer ${key}`).expect(200);
    expect(usage.body.answers).toBeGreaterThanOrEqual(1);
    expect(usage.body.tokens.input).toBeGreaterThan(0);
    expect(usage.body.models.map((m: { model: string }) => m.model)).toContain('gpt-4o-mini');
    expect(usage.body.cost_usd).toBeGreaterThan(0);
  });

  it('answers POST /v1/query from the model, and streams it as Server-Sent Events', async () => {
    const plain = await request(f.rt.app as Express).post('/v1/query').set('Authorization', `Bearer ${key}`).send({ message: 'opening hours?' }).expect(200);
    expect(plain.body).toMatchObject({ extractive: false, model: 'gpt-4o-mini', confidence: 0.92, handoff: { requested: false, reason: null } });
    expect(plain.body.sources[0]).toMatchObject({ document_id: hoursDoc, title: 'Opening hours' });
    expect(plain.body.usage.input_tokens).toBeGreaterThan(0);
    const streamed = await request(f.rt.app as Express)
      .post('/v1/query')
      .set('Authorization', `Bearer ${key}`)
      .send({ message: 'opening hours?', stream: true })
      .buffer(true)
      .parse((r, cb) => {
        let data = '';
        r.on('data', (c: Buffer) => (data += c.toString()));
        r.on('end', () => cb(null, data));
      })
      .expect(200);
    const blocks = (streamed.body as string).split('\n\n').filter(Boolean);
    const deltas = blocks.filter((b) => b.startsWith('event: delta')).map((b) => JSON.parse(b.split('data: ')[1] as string).text as string);
    const final = JSON.parse((blocks.find((b) => b.startsWith('event: final')) as string).split('data: ')[1] as string);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(plain.body.answer);
    expect(final).toMatchObject({ answer: plain.body.answer, sources: plain.body.sources });
  });

  it('gives a burst of three messages one answer', async () => {
    const waId = nextCustomer();
    await say(waId, 'Hi there');
    await say(waId, 'quick question');
    await say(waId, 'what are your opening hours?');
    await waitFor('the reply', async () => sends(waId).length > 0);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sends(waId)).toHaveLength(1);
    const asked = openai.requests.chat.filter((c) => c.lastUser.includes('quick question'));
    expect(asked).toHaveLength(1);
    expect(asked[0]?.lastUser).toMatch(/Hi there[\s\S]*quick question[\s\S]*opening hours/);
  });

  it("looks again when the job's conversation or message is not committed yet, instead of dropping it", async () => {
    const job = { workspaceId: f.workspaceId, conversationId: 'conv_01notcommittedyet000000000', messageId: 'msg_01notcommittedyet0000000000' };
    await expect(f.rt.services.agent.run(job)).rejects.toThrow(LookAgainError);
    expect(await f.rt.services.agent.run({ workspaceId: job.workspaceId, conversationId: job.conversationId })).toEqual({ outcome: 'missing' });
    const waId = nextCustomer();
    await say(waId, 'hello');
    const conv = await waitFor('the conversation', () => conversationOf(waId));
    await expect(f.rt.services.agent.run({ ...job, conversationId: conv.id })).rejects.toThrow(LookAgainError);
  });

  it('never answers twice when two workers race for the same conversation', async () => {
    const waId = nextCustomer();
    openai.setDelay(300);
    await f.rt.services.tenancy.listNumbers();
    await say(waId, 'Are you open on Sunday?');
    const conv = await waitFor('the conversation', () => conversationOf(waId));
    // The queue's own job plus two more "workers" calling the service directly.
    const results = await Promise.allSettled([
      f.rt.services.agent.run({ workspaceId: f.workspaceId, conversationId: conv.id }),
      f.rt.services.agent.run({ workspaceId: f.workspaceId, conversationId: conv.id }),
    ]);
    await waitFor('a reply', async () => sends(waId).length > 0);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sends(waId)).toHaveLength(1);
    expect((await f.rows("select id from messages where direction = 'out' and recipient = $1", [`+${waId}`])).length).toBe(1);
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value.outcome : (r.reason as Error).name));
    expect(outcomes.filter((o) => o === 'replied').length).toBeLessThanOrEqual(1);
  });

  it('sends nothing when a person takes over while the model is answering', async () => {
    const waId = nextCustomer();
    let conversationId = '';
    openai.onChat(async (req) => {
      // The takeover lands in the middle of the model call.
      await f.rt.db.pool.query("update conversations set mode = 'human', assignee_id = 'agent_7', assignee_name = 'Ana' where id = $1", [conversationId]);
      return groundedAnswer(req);
    });
    await say(waId, 'When do you open tomorrow?');
    conversationId = (await waitFor('the conversation', () => conversationOf(waId))).id;
    await waitFor('the model call', async () => openai.requests.chat.some((c) => c.lastUser.includes('When do you open tomorrow?')));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sends(waId)).toHaveLength(0);
    expect(await f.rows("select id from messages where direction = 'out' and recipient = $1", [`+${waId}`])).toHaveLength(0);
  });

  it('hands off when the customer asks for a person, without calling the model', async () => {
    const waId = nextCustomer();
    await say(waId, 'can I talk to a person');
    const conv = await waitFor('the handoff', async () => {
      const c = await conversationOf(waId);
      return c?.mode === 'pending_human' && c;
    });
    expect(conv.handoff_reason).toBe('customer asked for a person');
    expect(openai.requests.chat.some((c) => c.lastUser.includes('can I talk to a person'))).toBe(false);
    const [notice] = await waitFor('the handoff notice at Meta', async () => sends(waId).length > 0 && sends(waId));
    expect(textOf(notice as never)).toMatch(/member of our team/);
    const events = await f.rows<{ data: { reason: string } }>("select data from events where type = 'conversation.handoff_requested' and conversation_id = $1", [conv.id]);
    expect(events).toHaveLength(1);
    // The bot stays silent from now on.
    await say(waId, 'hello?');
    await new Promise((r) => setTimeout(r, 1_200));
    expect(sends(waId)).toHaveLength(1);
  });

  it('hands off on a configured keyword', async () => {
    const waId = nextCustomer();
    await say(waId, 'I will call my lawyer about this');
    const conv = await waitFor('the handoff', async () => {
      const c = await conversationOf(waId);
      return c?.mode === 'pending_human' && c;
    });
    expect(conv.handoff_reason).toBe('keyword: lawyer');
  });

  it('hands off on low confidence and records a knowledge gap, which is reported once it recurs', async () => {
    openai.onChat(() => ({ json: { reply: 'Maybe we have parking?', confidence: 0.2, source_chunk_ids: [], handoff: { requested: false, reason: null } } }));
    const first = nextCustomer();
    const second = nextCustomer();
    await say(first, 'Do you have parking for bikes?');
    await waitFor('the first handoff', async () => (await conversationOf(first))?.mode === 'pending_human');
    await say(second, 'do you have parking for bikes');
    const conv = await waitFor('the second handoff', async () => {
      const c = await conversationOf(second);
      return c?.mode === 'pending_human' && c;
    });
    expect(conv.handoff_reason).toMatch(/low confidence/);
    expect(sends(first).map(textOf).join()).not.toContain('Maybe we have parking');
    const gaps = await request(f.rt.app as Express).get('/v1/knowledge-gaps').set('Authorization', `Bearer ${key}`).expect(200);
    const gap = gaps.body.data.find((g: { normalized_question: string }) => g.normalized_question === 'do you have parking for bikes');
    expect(gap).toMatchObject({ object: 'knowledge_gap', count: 2 });
    const detected = await f.rows("select id from events where type = 'knowledge_gap.detected'");
    expect(detected).toHaveLength(1);
  });

  /** A delivery of one non-text message, shaped like textPayload's. */
  const sendOther = (from: string, type: string, body: Record<string, unknown>) => {
    const payload = textPayload({ from });
    const message = payload.entry[0]?.changes[0]?.value.messages[0] as Record<string, unknown>;
    delete message.text;
    Object.assign(message, { type, [type]: body });
    return postSigned(f.rt.app as Express, payload, APP_SECRET).expect(200);
  };

  it('reads locations and transcribed voice notes, and does not answer reactions', async () => {
    const waId = nextCustomer();
    await sendOther(waId, 'reaction', { message_id: uniqueWamid(), emoji: '👍' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(openai.requests.chat).toHaveLength(0);
    expect(sends(waId)).toHaveLength(0);

    graph.addMedia('voice-1', Buffer.from('OggS fake opus bytes'), 'audio/ogg');
    openai.setTranscription('what are your opening hours on saturday');
    await sendOther(waId, 'audio', { id: 'voice-1', mime_type: 'audio/ogg; codecs=opus', voice: true });
    await sendOther(waId, 'location', { latitude: 38.72, longitude: -9.14, name: 'Rossio', address: 'Lisbon' });
    await waitFor('the reply', async () => sends(waId).length > 0, 20_000);
    expect(openai.requests.transcriptions).toHaveLength(1);
    const chat = openai.requests.chat.at(-1) as ChatRequestView;
    expect(chat.lastUser).toContain('[voice note] what are your opening hours on saturday');
    expect(chat.lastUser).toContain('[location] Rossio, Lisbon (38.72, -9.14)');
  });

  it('retries a failing model and then hands off', async () => {
    const waId = nextCustomer();
    openai.failNext(100, 500, undefined, undefined, 'chat');
    await say(waId, 'What time do you close on Friday?');
    const conv = await waitFor(
      'the handoff',
      async () => {
        const c = await conversationOf(waId);
        return c?.mode === 'pending_human' && c;
      },
      30_000,
    );
    expect(conv.handoff_reason).toBe('the AI model is not answering');
    // One call and LLM_MAX_RETRIES=2 retries.
    expect(openai.requests.chat.filter((c) => c.lastUser.includes('close on Friday'))).toHaveLength(3);
  });

  it('answers after model 500s that stop within the retries', async () => {
    const waId = nextCustomer();
    openai.failNext(2, 500, undefined, undefined, 'chat');
    await say(waId, 'Are you open at 7am on Monday?');
    await waitFor('the reply', async () => sends(waId).length > 0, 30_000);
    expect((await conversationOf(waId))?.mode).toBe('bot');
  });
});
