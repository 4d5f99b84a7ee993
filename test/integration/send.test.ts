import type { Express } from 'express';
import { createIngressRepo } from '../../src/adapters/postgres/ingress.repo';
import { createSendRepo } from '../../src/adapters/postgres/send.repo';
import { createGraphClient } from '../../src/adapters/whatsapp/graph-api.client';
import { toGraphBody } from '../../src/adapters/whatsapp/message-body';
import { outboundMessageSchema } from '../../src/domain/messages/outbound.schema';
import { createSendService, RetryableSendError, type SendService } from '../../src/domain/messages/send.service';
import type { SendRepo } from '../../src/domain/messages/send.port';
import { newId } from '../../src/lib/ids';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, statusPayload, textPayload } from '../support/meta';

/** The send step of the outbound pipeline: state machine, error classes, exactly-once. */
describe('sending one outbound message', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let repo: SendRepo;
  let service: SendService;
  let conversationId: string;

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture();
    repo = createSendRepo(f.rt.db.pool, createIngressRepo(f.rt.db.pool));
    service = createSendService({
      repo,
      graph: createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0', timeoutMs: 2000 }),
      tenancy: f.rt.services.tenancy,
      logger: f.rt.logger,
    });
  });
  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
  });
  beforeEach(async () => {
    await f.reset();
    await postSigned(f.rt.app as Express, textPayload({}), APP_SECRET).expect(200);
    conversationId = (await f.rows<{ id: string }>('select id from conversations'))[0]?.id as string;
  });

  async function queue(author: 'bot' | 'api' | 'agent' = 'api', text = 'Your latte is ready'): Promise<string> {
    const id = newId('message');
    const msg = outboundMessageSchema.parse({ to: '+16505551234', type: 'text', text: { body: text } });
    await f.rt.db.pool.query(
      `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, type, content, author, status, recipient, graph_body)
       values ($1, $2, $3, $4, 'out', 'text', $5, $6, 'queued', $7, $8)`,
      [id, f.workspaceId, conversationId, f.numberId, JSON.stringify({ text }), author, msg.to, JSON.stringify(toGraphBody(msg))],
    );
    return id;
  }
  const row = async (id: string) =>
    (await f.rows<{ status: string; wamid: string | null; error_code: number | null; error_title: string | null }>('select status, wamid, error_code, error_title from messages where id = $1', [id]))[0];
  const sends = () => graph.calls.filter((c) => c.method === 'POST' && (c.body as { type?: string }).type === 'text').length;
  const job = (remembered?: string) => {
    const j = { rememberedWamid: remembered, remembered: undefined as string | undefined, remember: async (w: string) => void (j.remembered = w) };
    return j;
  };

  it('queued -> sent: one Graph call with a body Meta accepts, wamid stored, message.sent emitted', async () => {
    const id = await queue();
    const before = sends();
    const r = await service.send(id, job());
    expect(r).toMatchObject({ outcome: 'sent', wamid: expect.stringMatching(/^wamid\./) });
    expect(sends()).toBe(before + 1);
    expect(await row(id)).toMatchObject({ status: 'sent', wamid: r.outcome === 'sent' ? r.wamid : '' });
    expect(await f.rows("select type from events where type = 'message.sent'")).toHaveLength(1);
    // Sending again (a duplicate job) does nothing.
    expect(await service.send(id, job())).toEqual({ outcome: 'done' });
    expect(sends()).toBe(before + 1);
  });

  it('a permanent error fails the message at once with Meta\'s code; 131047 closes the window', async () => {
    const id = await queue();
    graph.failNext(/messages$/, 400, { code: 131047, message: 'Re-engagement message', details: 'More than 24 hours have passed' });
    expect(await service.send(id, job())).toEqual({ outcome: 'failed', code: 131047 });
    expect(await row(id)).toMatchObject({ status: 'failed', error_code: 131047 });
    const [conv] = await f.rows<{ window_expires_at: Date }>('select window_expires_at from conversations');
    expect(conv?.window_expires_at.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await f.rows("select type from events where type = 'message.failed'")).toHaveLength(1);
  });

  it('a retryable error puts the message back in the queue for the job to retry', async () => {
    const id = await queue();
    graph.failNext(/messages$/, 400, { code: 130429, message: 'Rate limit hit' });
    await expect(service.send(id, job())).rejects.toBeInstanceOf(RetryableSendError);
    expect((await row(id))?.status).toBe('queued');
    expect(await service.send(id, job())).toMatchObject({ outcome: 'sent' });
  });

  it("Meta's pair rate limit asks for a delay for that recipient (4^n s)", async () => {
    const id = await queue();
    graph.failNext(/messages$/, 400, { code: 131056, message: '(Business Account, Consumer Account) pair rate limit hit' });
    expect(await service.send(id, job())).toEqual({ outcome: 'pair_rate_limited', delayMs: 1000 });
    graph.failNext(/messages$/, 400, { code: 131056, message: 'pair rate limit hit' });
    expect(await service.send(id, job())).toEqual({ outcome: 'pair_rate_limited', delayMs: 4000 });
    expect((await row(id))?.status).toBe('queued');
  });

  it('a bot message is never sent once a human holds the conversation', async () => {
    const id = await queue('bot');
    await f.rt.db.pool.query("update conversations set mode = 'human', assignee_id = 'agent_1' where id = $1", [conversationId]);
    const before = sends();
    expect(await service.send(id, job())).toEqual({ outcome: 'cancelled' });
    expect((await row(id))?.status).toBe('cancelled');
    expect(sends()).toBe(before);
    // An agent's message in the same conversation does go out.
    expect(await service.send(await queue('agent'), job())).toMatchObject({ outcome: 'sent' });
  });

  it('a database failure after a successful call is finished on retry without a second call', async () => {
    const id = await queue();
    const flaky: SendRepo = { ...repo, markSent: async () => Promise.reject(new Error('connection terminated')) };
    const flakyService = createSendService({
      repo: flaky,
      graph: createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0' }),
      tenancy: f.rt.services.tenancy,
      logger: f.rt.logger,
    });
    const j = job();
    const before = sends();
    await expect(flakyService.send(id, j)).rejects.toThrow('connection terminated');
    expect((await row(id))?.status).toBe('sending');
    // The job retries with the wamid it remembered.
    expect(await service.send(id, job(j.remembered))).toEqual({ outcome: 'sent', wamid: j.remembered });
    expect(sends()).toBe(before + 1);
    expect((await row(id))?.wamid).toBe(j.remembered);
  });

  it('a crash between the call and its answer: at most once, marked failed as unknown_outcome', async () => {
    const id = await queue();
    await f.rt.db.pool.query("update messages set status = 'sending' where id = $1", [id]);
    const before = sends();
    expect(await service.send(id, job())).toEqual({ outcome: 'failed', code: null });
    expect(await row(id)).toMatchObject({ status: 'failed', error_title: 'unknown_outcome' });
    expect(sends()).toBe(before);
  });

  it('no answer from Meta after the request left (timeout): at most once, never resent', async () => {
    const id = await queue();
    const impatient = createSendService({
      repo,
      graph: createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0', timeoutMs: 200 }),
      tenancy: f.rt.services.tenancy,
      logger: f.rt.logger,
    });
    graph.slowNext(/messages$/, 1_000);
    const before = sends();
    expect(await impatient.send(id, job())).toEqual({ outcome: 'failed', code: null });
    expect(await row(id)).toMatchObject({ status: 'failed', error_title: 'unknown_outcome' });
    expect(await service.send(id, job())).toEqual({ outcome: 'done' });
    await new Promise((r) => setTimeout(r, 1_100));
    expect(sends()).toBe(before + 1);
  });

  it('statuses that arrived before the wamid was stored are applied right after the send', async () => {
    const id = await queue();
    const next = `wamid.EARLY${Date.now()}`;
    graph.setNextWamid(next);
    await postSigned(f.rt.app as Express, statusPayload([{ wamid: next, status: 'delivered' }]), APP_SECRET).expect(200);
    const r = await service.send(id, job());
    expect(r).toEqual({ outcome: 'sent', wamid: next });
    expect((await row(id))?.status).toBe('delivered');
  });
});
