import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/runtime';
import { waitFor } from '../support/wait';
import { createHarness, type Harness } from './lib/harness';
import { unhandledErrors, writeReport } from './lib/report';
import { startTap, type Tap, type TapCall } from './lib/tap';
import { deliver, inboundText, modelReply, repliesByCustomer, replyText } from './lib/traffic';

/**
 * Issue 9, scenario 5: 20 messages from one customer in 2 s, three worker processes. Never two
 * agent jobs (nor two agent turns) of the conversation at once, and the replies reach WhatsApp in
 * the order of the messages they answer.
 *
 * The gateway's own jobs of a conversation are one at a time by construction (one deduplication
 * id, at most one waiting and one running), and the worker that finishes one usually takes the
 * next; so the test also adds duplicate agent jobs of the conversation during the burst, as
 * BullMQ's at-least-once delivery can (a job whose lock was lost runs twice). Idle workers take
 * those at once, and only the conversation's lock (a Postgres advisory lock, per connection)
 * keeps their turns apart: a duplicate that finds it held goes back to wait.
 *
 * Evidence, from outside the processes: BullMQ's own record of each agent job of the
 * conversation (processedOn .. finishedOn), and each agent turn as seen by the model's taps (one
 * per worker process: the turn's embedding request, made under the conversation's lock) up to
 * the reply's row (created in the transaction that commits it, still under the lock).
 */
describe('fault: a burst from one customer with three worker processes', () => {
  const WORKERS = 3;
  const MESSAGES = 20;
  const waId = '16505559000';
  let h: Harness;
  let redis: Redis;
  let queue: Queue;
  const taps: Tap[] = [];

  beforeAll(async () => {
    h = await createHarness();
    // A model that takes a moment, so that turns are long enough to collide if they could.
    h.openai.setDelay(150);
    const origin = new URL(h.openai.url).origin;
    for (let i = 0; i < WORKERS; i++) taps.push(await startTap(origin));
    await h.start('api', 'api', h.apiEnv({ OPENAI_BASE_URL: h.openai.url }));
    await Promise.all(taps.map((t, i) => h.start(`worker-${i}`, 'worker', { OPENAI_BASE_URL: `${t.url}/v1` })));
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    queue = new Queue('agent', { connection: redis, prefix: h.prefix });
  });

  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await h?.teardown();
    await Promise.all(taps.map((t) => t.close()));
  });

  it('never runs two agent turns of the conversation at once, and its replies arrive in order', async () => {
    const api = [...h.processes].find((p) => p.name === 'api');
    let duplicates = 0;
    const started = Date.now();
    // One message every 100 ms, on a fixed schedule (a slow answer does not stretch the burst),
    // and two duplicate agent jobs after every third one.
    const answers = await Promise.all(
      Array.from({ length: MESSAGES }, async (_, k) => {
        const i = k + 1;
        const n = String(i).padStart(2, '0');
        await new Promise((r) => setTimeout(r, started + k * (2_000 / MESSAGES) - Date.now()));
        const status = await deliver(api?.url as string, inboundText(waId, `Message ${n} of ${MESSAGES}`, `wamid.ORDER${n}${started}`));
        if (i % 3 === 0) {
          const [c] = await h.rows<{ id: string; workspace_id: string }>('select v.id, v.workspace_id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]);
          for (let d = 0; d < 2; d++) {
            await queue.add('agent', { workspaceId: c?.workspace_id, conversationId: c?.id }, { jobId: `duplicate-${c?.id}-${++duplicates}`, removeOnComplete: false });
          }
        }
        return status;
      }),
    );
    expect(answers).toEqual(Array.from({ length: MESSAGES }, () => 200));

    const [conv] = await h.rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]);
    const inbound = await h.rows<{ id: string; content: { text?: { body?: string } } }>("select id, content from messages where conversation_id = $1 and direction = 'in' order by id", [conv?.id]);
    expect(inbound).toHaveLength(MESSAGES);
    const last = inbound.at(-1)?.id as string;
    await waitFor(
      'every message answered and every reply sent',
      async () => {
        const [c] = await h.rows<{ last_answered_message_id: string | null }>('select last_answered_message_id from conversations where id = $1', [conv?.id]);
        const pending = await h.rows("select 1 from messages where conversation_id = $1 and direction = 'out' and status not in ('sent', 'failed')", [conv?.id]);
        return c?.last_answered_message_id === last && pending.length === 0;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1_000)); // a late second reply would show up here

    const replies = await h.rows<{ id: string; created_at: Date; status: string; content: { text: string }; answer: { in_reply_to: string[] } }>(
      "select id, created_at, status, content, answer from messages where conversation_id = $1 and direction = 'out' order by id",
      [conv?.id],
    );
    expect(replies.every((r) => r.status === 'sent')).toBe(true);

    // Every message answered exactly once, by replies that follow the messages' order.
    const answered = replies.flatMap((r) => r.answer.in_reply_to);
    expect(answered).toEqual(inbound.map((m) => m.id));

    // WhatsApp got those replies once each, in that order.
    const atGraph = repliesByCustomer(h.graph.calls).get(waId) ?? [];
    expect(atGraph.map(replyText)).toEqual(replies.map((r) => r.content.text));

    // BullMQ: the gateway's agent jobs of the conversation ran one after another.
    await waitFor(
      'the duplicate jobs to finish',
      async () => {
        const c = await queue.getJobCounts('waiting', 'delayed', 'active');
        return (c.waiting ?? 0) + (c.delayed ?? 0) + (c.active ?? 0) === 0;
      },
      30_000,
    );
    const jobs = (await queue.getJobs(['completed', 'failed'])).filter((j) => (j.data as { conversationId: string }).conversationId === conv?.id);
    const dups = jobs.filter((j) => j.id?.startsWith('duplicate-') && j.finishedOn);
    expect(dups).toHaveLength(duplicates);
    // Duplicates ran while the conversation was held, and were sent back to wait (started again).
    const refused = dups.filter((j) => j.attemptsStarted > 1).length;
    expect(refused).toBeGreaterThan(0);
    const spans = jobs
      .filter((j) => j.id?.startsWith('agent-'))
      .map((j) => ({ id: j.id, from: j.processedOn as number, to: j.finishedOn as number }))
      .sort((a, b) => a.from - b.from);
    for (let i = 1; i < spans.length; i++) expect(spans[i]?.from).toBeGreaterThanOrEqual(spans[i - 1]?.to as number);

    // The agent turns: from each turn's embedding request (tap of the process that ran it) to its
    // reply's commit. The model's answer names the messages it answered, which pairs a turn with
    // its reply row.
    const turns: { worker: number; from: number; to: number }[] = [];
    taps.forEach((tap, worker) => {
      const calls = tap.calls;
      calls.forEach((c: TapCall, i) => {
        if (!c.path.endsWith('/chat/completions')) return;
        const embed = calls.slice(0, i).reverse().find((e) => e.path.endsWith('/embeddings'));
        const answer = modelReply(c.answer);
        const reply = replies.find((r) => r.content.text === answer);
        expect(embed && reply).toBeTruthy();
        turns.push({ worker, from: embed?.at as number, to: (reply as { created_at: Date }).created_at.getTime() });
      });
    });
    expect(turns).toHaveLength(replies.length);
    turns.sort((a, b) => a.from - b.from);
    for (let i = 1; i < turns.length; i++) expect(turns[i]?.from).toBeGreaterThanOrEqual(turns[i - 1]?.to as number);
    const workersUsed = new Set(turns.map((t) => t.worker)).size;
    expect(unhandledErrors([...h.processes])).toEqual([]);
    writeReport('ordering', {
      messages: MESSAGES,
      agent_jobs: spans.length,
      duplicate_jobs: duplicates,
      duplicates_refused_while_held: refused,
      turns: turns.length,
      worker_processes_with_turns: workersUsed,
      replies_in_order: replies.length,
    });
  }, 120_000);
});
