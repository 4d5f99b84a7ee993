import type { Express } from 'express';
import request from 'supertest';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { metaSerialize, sign, textPayload } from '../support/meta';
import { startOpenAiEmulator, type OpenAiEmulator } from '../support/openai-emulator';
import { SCOPES } from '../../src/domain/keys/scopes';
import { waitFor } from '../support/wait';

/**
 * One correlation id from Meta's webhook delivery to the reply: the request id of the inbound
 * POST is on every log line of that request, of the agent job it queued and of the send job
 * that carries the answer (captured pino lines, the real workers, Graph and OpenAI emulators).
 */
type Line = Record<string, unknown>;

describe('a correlation id from the inbound webhook to the reply', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let openai: OpenAiEmulator;
  const app = () => f.rt.app as Express;

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    openai = await startOpenAiEmulator();
    openai.onChat(() => ({ json: { reply: 'We open at 7am.', confidence: 0.9, source_chunk_ids: [], handoff: { requested: false, reason: null } } }));
    f = await createIngressFixture(
      { WHATSAPP_GRAPH_URL: graph.url, OPENAI_API_KEY: 'sk-test-correlation', OPENAI_BASE_URL: openai.url, AGENT_DEBOUNCE_MS: '0' },
      { workers: true },
    );
    await f.rt.runWorkers();
  });
  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
    await openai.close();
  });

  const inbound = (from: string, body: string, requestId?: string) => {
    const raw = metaSerialize(textPayload({ from, body }));
    const req = request(app()).post('/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', sign(raw, APP_SECRET));
    if (requestId) req.set('X-Request-Id', requestId);
    return req.send(raw).expect(200);
  };
  const sendsTo = (waId: string) => graph.calls.filter((c) => c.method === 'POST' && ((c.body as { to?: string }).to ?? '').replace(/^\+/, '') === waId);
  const outbound = async (waId: string) => f.rows<{ id: string; conversation_id: string; status: string }>("select id, conversation_id, status from messages where direction = 'out' and recipient = $1", [`+${waId}`]);

  /** The lines of one chain, found by what they are about (not by the correlation id). */
  function chain(lines: Line[], requestId: string, conversationId: string, replyIds: string[]) {
    const ingress = lines.filter((l) => l.request_id === requestId || (l.msg === 'webhook stored' && l.correlation_id === requestId));
    const agentJobs = new Set(lines.filter((l) => l.queue === 'agent' && l.conversation_id === conversationId).map((l) => l.job_id));
    const agent = lines.filter((l) => agentJobs.has(l.job_id) || l.conversation_id === conversationId);
    const sendJobs = new Set(replyIds.map((id) => `send-${id}`));
    const send = lines.filter((l) => sendJobs.has(l.job_id as string) || sendJobs.has(l.jobId as string) || replyIds.includes(l.message_id as string));
    return { ingress, agent, send, agentJobs };
  }

  it('puts the delivery\'s request id on the ingress lines, the agent job\'s lines and the send job\'s lines, a retried send included', async () => {
    // Customer A: the id is made by the gateway; the first attempt to send the reply fails (retryable).
    graph.failNext(/\/messages$/, 500, { code: 131000, message: 'Something went wrong' });
    const a = await inbound('16505551111', 'When do you open?');
    const idA = a.headers['x-request-id'] as string;
    await waitFor("the first attempt at A's reply", () => sendsTo('16505551111').length > 0);
    // Customer B: the caller's X-Request-Id is kept as the correlation id.
    const idB = 'delivery-b.0001';
    const b = await inbound('16505552222', 'Are you open on Sunday?', idB);
    expect(b.headers['x-request-id']).toBe(idB);
    // Customer C asks for a person: the agent service's own lines and the handoff notice.
    const c = await inbound('16505553333', 'can I talk to a person please');
    const idC = c.headers['x-request-id'] as string;
    expect(new Set([idA, idB, idC]).size).toBe(3);

    for (const waId of ['16505551111', '16505552222', '16505553333']) {
      await waitFor(`the answer to ${waId} sent`, async () => sendsTo(waId).some((s) => (s.body as { type?: string }).type === 'text') && (await outbound(waId)).every((m) => m.status === 'sent'), 30_000);
    }
    // The retried send of A's reply: a failed attempt before the one that went through.
    expect(graph.calls.filter((x) => x.method === 'POST' && /\/messages$/.test(x.path)).length).toBeGreaterThanOrEqual(4);
    await waitFor('the send jobs done', () => f.rt.logs.lines().filter((l) => l.msg === 'send job done').length >= 3);

    const lines = f.rt.logs.lines();
    for (const [waId, id, expectFailure] of [['16505551111', idA, true], ['16505552222', idB, false], ['16505553333', idC, false]] as const) {
      const replies = await outbound(waId);
      expect(replies.length).toBeGreaterThan(0);
      const conversationId = replies[0]?.conversation_id as string;
      const { ingress, agent, send, agentJobs } = chain(lines, id, conversationId, replies.map((r) => r.id));

      // The ingress request: its access line and the ingress service's line.
      expect(ingress.map((l) => l.msg)).toEqual(expect.arrayContaining(['request', 'webhook stored']));
      expect(ingress.find((l) => l.msg === 'request')).toMatchObject({ route: '/webhooks/whatsapp', status: 200 });
      // The agent job: at least its turn line (and, for C, the service's handoff line).
      expect(agentJobs.size).toBe(1);
      expect(agent.map((l) => l.msg)).toContain('agent turn');
      if (waId === '16505553333') expect(agent.map((l) => l.msg)).toContain('conversation handed to a person');
      // The send job(s) of the answer, the failed attempt of A's included.
      expect(send.map((l) => l.msg)).toContain('send job done');
      if (expectFailure) expect(send.map((l) => l.msg)).toContain('send job failed');

      for (const l of [...ingress, ...agent, ...send]) expect({ msg: l.msg, correlation_id: l.correlation_id }).toEqual({ msg: l.msg, correlation_id: id });
    }
    // The ids stay apart: no line of one chain carries another's id.
    const others = lines.filter((l) => typeof l.correlation_id === 'string');
    expect(new Set(others.map((l) => l.correlation_id))).toEqual(new Set([idA, idB, idC]));
  });

  it("puts an API request's id on the send job of the message it sends (POST /v1/messages, an agent's reply)", async () => {
    const key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'crm', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    await inbound('16505554444', 'Hello'); // opens the 24-hour window
    const requestId = 'crm-send.0001';
    const res = await request(app())
      .post('/v1/messages')
      .set('Authorization', `Bearer ${key}`)
      .set('X-Request-Id', requestId)
      .send({ to: '+16505554444', type: 'text', text: { body: 'Your order is ready.' } })
      .expect(202);
    expect(res.headers['x-request-id']).toBe(requestId);
    const jobId = `send-${res.body.id as string}`;
    await waitFor('the API send done', () => f.rt.logs.lines().some((l) => l.job_id === jobId && l.msg === 'send job done'), 30_000);
    const linesOf = (id: string) => f.rt.logs.lines().filter((l) => l.job_id === id || l.jobId === id);
    expect(linesOf(jobId).length).toBeGreaterThan(0);
    for (const l of linesOf(jobId)) expect({ msg: l.msg, correlation_id: l.correlation_id }).toEqual({ msg: l.msg, correlation_id: requestId });

    // An agent takes the conversation over and replies: the reply's send job carries that request's id.
    const [conversation] = await f.rows<{ id: string }>("select conversation_id as id from messages where id = $1", [res.body.id]);
    const api = (path: string) => request(app()).post(path).set('Authorization', `Bearer ${key}`);
    await api(`/v1/conversations/${conversation?.id}/takeover`).send({ agent: { id: 'agent_maria', name: 'Maria' } }).expect(200);
    const replyId = 'console-reply.0001';
    const reply = await api(`/v1/conversations/${conversation?.id}/reply`).set('X-Request-Id', replyId).send({ type: 'text', text: { body: 'Maria here.' } }).expect(202);
    const replyJob = `send-${reply.body.id as string}`;
    await waitFor('the reply sent', () => f.rt.logs.lines().some((l) => l.job_id === replyJob && l.msg === 'send job done'), 30_000);
    for (const l of linesOf(replyJob)) expect({ msg: l.msg, correlation_id: l.correlation_id }).toEqual({ msg: l.msg, correlation_id: replyId });
  });
});
