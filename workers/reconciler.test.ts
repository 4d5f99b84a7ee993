import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Express } from 'express';
import { createIngressRepo } from '../src/adapters/postgres/ingress.repo';
import { createReconcileRepo } from '../src/adapters/postgres/reconcile.repo';
import { createSendRepo } from '../src/adapters/postgres/send.repo';
import { createAgentDebounce } from '../src/adapters/queue/agent-debounce';
import { createRedis } from '../src/adapters/redis/redis';
import { createGraphClient } from '../src/adapters/whatsapp/graph-api.client';
import { toGraphBody } from '../src/adapters/whatsapp/message-body';
import { outboundMessageSchema } from '../src/domain/messages/outbound.schema';
import { createSendService } from '../src/domain/messages/send.service';
import { createReconciler, type ReconcilerOptions } from '../src/domain/reconcile/reconciler.service';
import { newId } from '../src/lib/ids';
import { startGraphEmulator, type GraphEmulator } from '../test/support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../test/support/ingress';
import { captureLogs } from '../test/support/logs';
import { postSigned, textPayload } from '../test/support/meta';
import { startOpenAiEmulator, type OpenAiEmulator } from '../test/support/openai-emulator';
import { REDIS_URL } from '../test/support/runtime';
import { waitFor } from '../test/support/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../test/support/webhook-receiver';
import { createReconcileQueues } from './reconciler';
import { createSendWorkers, sendQueueName, type SendWorkers } from './send.worker';

/**
 * The reconciler against real Redis and a real database, with the real send pipeline, agent and
 * webhook workers: states a crash leaves behind are made directly (a job removed as a Redis
 * restart would, a job failed as exhausted retries would, rows aged as time would), then one
 * pass is run and what it drove on is followed to its end.
 */
describe('the reconciler drives on what a crash left unfinished', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let openai: OpenAiEmulator;
  let receiver: WebhookReceiver;
  let sendWorkers: SendWorkers;
  let queues: ReturnType<typeof createReconcileQueues>;
  let producer: ReturnType<typeof createRedis>;
  const connections: ReturnType<typeof createRedis>[] = [];
  let customer = 16505557000;

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    openai = await startOpenAiEmulator();
    openai.onChat(() => ({ json: { reply: 'Happy to help!', confidence: 0.9, source_chunk_ids: [], handoff: { requested: false, reason: null } } }));
    receiver = await startWebhookReceiver();
    f = await createIngressFixture(
      {
        WHATSAPP_GRAPH_URL: graph.url,
        OPENAI_API_KEY: 'sk-test-reconciler',
        OPENAI_BASE_URL: openai.url,
        LLM_MAX_RETRIES: '0',
        AGENT_DEBOUNCE_MS: '0',
        ALLOW_INSECURE_WEBHOOKS: 'true',
        ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
      },
      { workers: true },
    );
    const sendRepo = createSendRepo(f.rt.db.pool, createIngressRepo(f.rt.db.pool));
    producer = createRedis(REDIS_URL, 'worker');
    const workerConnection = createRedis(REDIS_URL, 'worker');
    connections.push(producer, workerConnection);
    sendWorkers = createSendWorkers({
      producer,
      workerConnection,
      prefix: f.rt.config.queuePrefix,
      service: createSendService({ repo: sendRepo, graph: createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0' }), tenancy: f.rt.services.tenancy, logger: f.rt.logger }),
      repo: sendRepo,
      logger: f.rt.logger,
      consume: true,
    });
    queues = createReconcileQueues({
      producer,
      prefix: f.rt.config.queuePrefix,
      queues: f.rt.queues as NonNullable<typeof f.rt.queues>,
      debounce: f.rt.agentDebounce as NonNullable<typeof f.rt.agentDebounce>,
      enqueueSend: (numberId, job) => sendWorkers.enqueue(numberId, job),
    });
  });

  afterAll(async () => {
    await queues.close();
    await sendWorkers.close();
    for (const c of connections) c.disconnect();
    await f.rt.teardown();
    await Promise.all([graph.close(), openai.close(), receiver.close()]);
  });

  const quiet: ReconcilerOptions = { queuedAfterMs: 1_000, sendingAfterMs: 1_000, agentAfterMs: 1_000, agentEveryMs: 0, eventsAfterMs: 3_600_000 };
  function reconciler(options: ReconcilerOptions = quiet) {
    const logs = captureLogs();
    const r = createReconciler({
      repo: createReconcileRepo(f.rt.db.pool),
      queues,
      dispatchEvents: () => f.rt.events.runOnce(),
      sweepDeliveries: () => f.rt.webhookDelivery.sweep(),
      logger: logs.logger,
      options,
    });
    return { run: () => r.run(), logs };
  }
  const sendQueue = () => new Queue(sendQueueName(f.numberId), { connection: producer, prefix: f.rt.config.queuePrefix });
  const age = (sql: string, params: unknown[] = []) => f.rt.db.pool.query(sql, params);
  const textsTo = (waId: string) => graph.calls.filter((c) => c.path.endsWith('/messages') && (c.body as { to?: string; type?: string }).to === `+${waId}` && (c.body as { type?: string }).type === 'text');
  const statusOf = async (id: string) => (await f.rows<{ status: string; wamid: string | null; error_title: string | null }>('select status, wamid, error_title from messages where id = $1', [id]))[0];
  const worker = (name: string) => f.rt.workers.find((w) => w.name === name) as Worker;

  /** A worker that fails whatever it takes, as a job out of retries would end. */
  async function failJobs(queue: Queue, ids: string[]) {
    const connection = createRedis(REDIS_URL, 'worker');
    const w = new Worker(queue.name, async () => {
      throw new UnrecoverableError('simulated: out of retries');
    }, { connection, prefix: f.rt.config.queuePrefix });
    try {
      await waitFor(`${ids.join(', ')} to fail`, async () => (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === 'failed'));
    } finally {
      await w.close();
      connection.disconnect();
    }
  }

  async function conversationOf(waId: string): Promise<string> {
    await postSigned(f.rt.app as Express, textPayload({ from: waId, body: 'Do you deliver on Sundays?' }), APP_SECRET).expect(200);
    const [c] = await f.rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]);
    return c?.id as string;
  }

  async function outboundRow(conversationId: string, waId: string, status: 'queued' | 'sending'): Promise<string> {
    const id = newId('message');
    const msg = outboundMessageSchema.parse({ to: `+${waId}`, type: 'text', text: { body: `from the CRM (${status})` } });
    await f.rt.db.pool.query(
      `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, type, content, author, status, recipient, graph_body, updated_at)
       values ($1, $2, $3, $4, 'out', 'text', $5, 'api', $6, $7, $8, now() - interval '5 minutes')`,
      [id, f.workspaceId, conversationId, f.numberId, JSON.stringify({ text: msg.type === 'text' ? msg.text.body : '' }), status, msg.to, JSON.stringify(toGraphBody(msg))],
    );
    return id;
  }

  it('outbound messages stuck in queued or sending: lost and failed jobs are run again, live ones left alone', async () => {
    const waId = String(++customer);
    const conv = await conversationOf(waId);
    await f.clearAgent();
    // A person answers this customer: only the messages below are the reconciler's business here.
    await age("update conversations set mode = 'human', assignee_id = 'agt_1' where id = $1", [conv]);
    const lost = await outboundRow(conv, waId, 'queued');
    const exhausted = await outboundRow(conv, waId, 'queued');
    const waiting = await outboundRow(conv, waId, 'queued');
    const unknown = await outboundRow(conv, waId, 'sending');
    const remembered = await outboundRow(conv, waId, 'sending');
    const q = sendQueue();
    try {
      // `exhausted` ran out of retries while the database was down; `remembered` got Meta's
      // answer (its wamid kept in the job) and then its worker died twice; `waiting` is paused
      // for a minute by Meta's pair rate limit.
      await sendWorkers.enqueue(f.numberId, { workspaceId: f.workspaceId, messageId: exhausted, recipient: `+${waId}` });
      await sendWorkers.enqueue(f.numberId, { workspaceId: f.workspaceId, messageId: remembered, recipient: `+${waId}`, wamid: 'wamid.REMEMBERED01' });
      await failJobs(q, [`send-${exhausted}`, `send-${remembered}`]);
      await q.add('send', { workspaceId: f.workspaceId, messageId: waiting, recipient: `+${waId}` }, { jobId: `send-${waiting}`, delay: 60_000 });

      const { run, logs } = reconciler();
      expect(await run()).toMatchObject({ sendsRequeued: 2, sendsResolved: 2, agentRedriven: 0 });
      expect(logs.lines().find((l) => l.msg === 'reconciler drove stuck work on')).toMatchObject({ sends_requeued: 2, sends_resolved: 2 });
      for (const id of [lost, exhausted, unknown, remembered]) expect(await q.getJobState(`send-${id}`)).toBe('waiting');
      expect((await q.getJob(`send-${exhausted}`))?.attemptsMade).toBe(0);
      expect(await q.getJobState(`send-${waiting}`)).toBe('delayed');

      sendWorkers.sync(await f.rt.services.tenancy.listNumbers());
      await waitFor('the four messages to finish', async () => {
        const s = await Promise.all([lost, exhausted, unknown, remembered].map(statusOf));
        return s.every((x) => x?.status === 'sent' || x?.status === 'failed');
      });
      expect(await statusOf(lost)).toMatchObject({ status: 'sent' });
      expect(await statusOf(exhausted)).toMatchObject({ status: 'sent' });
      // Sending with nothing remembered: the outcome is unknown, so never sent again.
      expect(await statusOf(unknown)).toMatchObject({ status: 'failed', error_title: 'unknown_outcome' });
      // Meta had accepted it: recorded as sent with Meta's wamid, without a second call.
      expect(await statusOf(remembered)).toMatchObject({ status: 'sent', wamid: 'wamid.REMEMBERED01' });
      const bodies = textsTo(waId).map((c) => (c.body as { text: { body: string } }).text.body);
      expect(bodies.sort()).toEqual(['from the CRM (queued)', 'from the CRM (queued)']);
      const failed = await f.rows<{ type: string }>("select type from events where type = 'message.failed' and data->'message'->>'id' = $1", [unknown]);
      expect(failed).toHaveLength(1);

      // Nothing left to do but the paused message, which is its job's business.
      expect(await run()).toMatchObject({ sendsRequeued: 0, sendsResolved: 0 });
      expect(await q.getJobState(`send-${waiting}`)).toBe('delayed');
    } finally {
      await q.remove(`send-${waiting}`).catch(() => undefined);
      await q.close();
    }
  });

  it('an unanswered conversation whose agent job is exhausted is re-driven at most three times, then left alone; a live job is left alone', async () => {
    const gaveUp = String(++customer);
    const busy = String(++customer);
    const convGaveUp = await conversationOf(gaveUp);
    const convBusy = await conversationOf(busy);
    await f.clearAgent();
    // The busy customer's job is live (debounced for a minute): not the reconciler's business.
    const [busyMsg] = await f.rows<{ id: string }>("select id from messages where conversation_id = $1 and direction = 'in'", [convBusy]);
    const minute = createAgentDebounce({ redis: producer, prefix: f.rt.config.queuePrefix, queues: f.rt.queues as NonNullable<typeof f.rt.queues>, debounceMs: 60_000, logger: f.rt.logger });
    await minute.schedule([{ workspaceId: f.workspaceId, conversationId: convBusy, messageId: busyMsg?.id as string }]);
    await age("update messages set created_at = now() - interval '5 minutes' where direction = 'in'");
    const { run, logs } = reconciler();
    for (let round = 1; round <= 3; round++) {
      expect(await run()).toMatchObject({ agentRedriven: 1, agentGaveUp: 0 });
      const jobs = await f.agentQueue.getJobs(['waiting', 'delayed']);
      const mine = jobs.filter((j) => (j.data as { conversationId: string }).conversationId === convGaveUp);
      expect(mine.map((j) => j.id)).toEqual([expect.stringMatching(new RegExp(`^agent-${convGaveUp}-msg_[0-9a-z]+-rc${round}$`))]);
      await failJobs(f.agentQueue, [mine[0]?.id as string]);
    }
    expect(await run()).toMatchObject({ agentRedriven: 0, agentGaveUp: 1 });
    expect(logs.lines().find((l) => l.msg === 'reconciler gave up on an unanswered conversation')).toMatchObject({ conversation_id: convGaveUp, rounds: 3 });
    await f.clearAgent();
    // Hand this one to a person so that the next test's agent worker does not answer it.
    await age("update conversations set mode = 'human', assignee_id = 'agt_1' where id = $1", [convGaveUp]);
  });

  it('an unanswered conversation whose agent job Redis lost is answered once', async () => {
    const waId = String(++customer);
    await conversationOf(waId);
    await f.clearAgent(); // the Redis restart
    await age("update messages set created_at = now() - interval '5 minutes' where direction = 'in'");
    const { run, logs } = reconciler();
    // This customer and the busy one of the previous test (whose job is gone now too).
    expect(await run()).toMatchObject({ agentRedriven: 2 });
    expect(logs.lines().find((l) => l.msg === 'reconciler drove stuck work on')).toMatchObject({ agent_redriven: 2 });
    void worker('agent').run();
    await waitFor('the answer at the Graph emulator', () => textsTo(waId).length === 1, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(textsTo(waId).map((c) => (c.body as { text: { body: string } }).text.body)).toEqual(['Happy to help!']);
    await waitFor('every customer answered', async () => (await run()).agentRedriven === 0);
    expect(await run()).toMatchObject({ agentRedriven: 0, agentGaveUp: 0 });
    expect(textsTo(waId)).toHaveLength(1);
  });

  it('outbox events never dispatched are dispatched; deliveries whose jobs were lost are delivered', async () => {
    await f.rt.services.webhooks.create(f.workspaceId, { url: receiver.url('/hooks'), events: ['*'] });
    const undispatched = (await f.rows<{ n: number }>('select count(*)::int as n from events where dispatched_at is null'))[0]?.n ?? 0;
    expect(undispatched).toBeGreaterThan(0);
    await age("update events set created_at = now() - interval '5 minutes' where dispatched_at is null");
    const { run, logs } = reconciler({ ...quiet, eventsAfterMs: 60_000 });
    const first = await run();
    expect(first.eventsDispatched).toBe(undispatched);
    expect(logs.lines().find((l) => l.msg === 'outbox events were left undispatched')).toMatchObject({ undispatched });
    expect((await f.rows('select 1 from events where dispatched_at is null'))).toHaveLength(0);
    const deliveries = (await f.rows<{ n: number }>("select count(*)::int as n from webhook_deliveries where status = 'pending'"))[0]?.n ?? 0;
    expect(deliveries).toBeGreaterThanOrEqual(undispatched);

    // Redis loses the delivery jobs before any worker took them.
    await f.rt.queues?.get('webhooks').obliterate({ force: true });
    await age("update webhook_deliveries set next_attempt_at = now() - interval '1 minute' where status = 'pending'");
    expect(await run()).toMatchObject({ deliveriesRedriven: deliveries, eventsDispatched: 0 });
    void worker('webhooks').run();
    await waitFor('every delivery to succeed', async () => (await f.rows("select 1 from webhook_deliveries where status <> 'succeeded'")).length === 0, 20_000);
    const ids = receiver.to('/hooks').map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(deliveries);
    expect(await run()).toMatchObject({ deliveriesRedriven: 0, eventsDispatched: 0 });
  });
});
