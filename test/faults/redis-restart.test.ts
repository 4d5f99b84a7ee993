import { Queue } from 'bullmq';
import { agentDebounceKeys } from '../../src/adapters/queue/agent-debounce';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../support/redis-server';
import type { GatewayProcess } from './lib/cluster';
import { createHarness, type Harness } from './lib/harness';
import { reconcilerTotals, unhandledErrors, writeReport } from './lib/report';
import { deliver, deliverUntilAccepted, inboundText, repliesByCustomer } from './lib/traffic';

/**
 * Issue 9, scenario 2: Redis killed (SIGKILL) and restarted with 1,000 jobs in flight. The
 * private redis-server keeps nothing on disk, so it comes back empty: every queued and running
 * job, every deduplication key is gone; only Postgres knows what is unfinished. The ingress must
 * answer 503 while Redis is down (Meta retries) and 200 after; every customer message must then
 * get its reply, exactly once, through the reconciler and the ingress's own re-drive.
 */
describe('fault: Redis killed and restarted with 1,000 jobs in flight', () => {
  const N = 1_000;
  const DURING = 20;
  let redis: PrivateRedis;
  let h: Harness;
  let api: GatewayProcess;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await createHarness({ redisUrl: redis.url });
    // The model takes a moment, so that most of the 1,000 turns are still queued when Redis dies.
    h.openai.setDelay(200);
    api = await h.start('api', 'api', h.apiEnv());
    await Promise.all([h.start('worker-0', 'worker'), h.start('worker-1', 'worker')]);
  });

  afterAll(async () => {
    await h?.teardown();
    await redis?.stop();
  });

  async function inFlight(): Promise<{ agent: number; send: number }> {
    const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const agent = new Queue('agent', { connection: r, prefix: h.prefix });
      const counts = await agent.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      await agent.close();
      // Conversations still waiting out their debounce are agent work in Redis too.
      counts.debounce = await r.zcard(agentDebounceKeys(h.prefix).due);
      const [n] = await h.rows<{ id: string }>('select id from phone_numbers');
      const send = new Queue(`send-${n?.id}`, { connection: r, prefix: h.prefix });
      const s = await send.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      await send.close();
      const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      return { agent: sum(counts), send: sum(s) };
    } finally {
      r.disconnect();
    }
  }

  it('answers 503 while Redis is down and 200 after; every message is answered once after recovery', async () => {
    const t0 = Date.now();
    const customers = Array.from({ length: N + DURING }, (_, i) => String(16505570000 + i));
    const deliveries = customers.map((w, i) => inboundText(w, `Question ${i}: do you deliver?`, `wamid.REDIS${i}x${t0}`));

    // 1,000 customers write; every delivery is acknowledged (durable, and its job queued).
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < N) {
          const d = deliveries[next++];
          if (d) statuses.push(await deliver(api.url, d));
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const jobs = await inFlight();
    const [answeredBefore] = await h.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'out'");

    await redis.stop();
    const downAt = Date.now();
    // While Redis is down: new deliveries are refused with 503 (Meta keeps them), none is 200.
    const during: number[] = [];
    for (const d of deliveries.slice(N)) during.push(await deliver(api.url, d));
    expect(during.every((s) => s === 503)).toBe(true);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { redis: { ok: boolean } } }).checks.redis.ok).toBe(false);
    await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - downAt))));
    await redis.start();
    const upAt = Date.now();

    // Meta's retries of the refused deliveries: 200 once Redis answers again.
    for (const d of deliveries.slice(N)) expect(await deliverUntilAccepted(() => api.url, d, 30_000)).toBe(200);
    const acceptedAgainMs = Date.now() - upAt;

    // Everything completes: every conversation answered, every reply finished.
    const settleStart = Date.now();
    let open = { unanswered: -1, unfinished: -1 };
    while (Date.now() - settleStart < 240_000) {
      [open] = (await h.rows<{ unanswered: number; unfinished: number }>(
        `select (select count(*)::int from conversations c where c.mode = 'bot' and exists (
                   select 1 from messages m where m.conversation_id = c.id and m.direction = 'in'
                      and (c.last_answered_message_id is null or m.id > c.last_answered_message_id))) as unanswered,
                (select count(*)::int from messages where direction = 'out' and status in ('queued', 'sending')) as unfinished`,
      )) as [typeof open];
      if (open.unanswered === 0 && open.unfinished === 0) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(open).toEqual({ unanswered: 0, unfinished: 0 });
    await new Promise((r) => setTimeout(r, 3_000)); // a late duplicate would show up here

    const [inbound] = await h.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'in'");
    expect(inbound?.n).toBe(N + DURING);
    const replies = repliesByCustomer(h.graph.calls);
    const counts = customers.map((w) => replies.get(w)?.length ?? 0);
    const rows = await h.rows<{ status: string; n: number }>("select status, count(*)::int as n from messages where direction = 'out' group by status");
    const summary = {
      customers: customers.length,
      agent_jobs_in_flight_at_kill: jobs.agent,
      send_jobs_in_flight_at_kill: jobs.send,
      replies_before_kill: answeredBefore?.n,
      answers_while_down: during,
      accepted_again_after_ms: acceptedAgainMs,
      replied_once: counts.filter((c) => c === 1).length,
      replied_twice_or_more: counts.filter((c) => c > 1).length,
      not_replied: counts.filter((c) => c === 0).length,
      reply_rows: Object.fromEntries(rows.map((r) => [r.status, r.n])),
      recovered_s: Math.round((Date.now() - upAt) / 1000),
      reconciler: reconcilerTotals([...h.processes]),
    };
    writeReport('redis-restart', summary);
    expect(unhandledErrors([...h.processes])).toEqual([]);
    expect([...h.processes].every((p) => p.alive())).toBe(true);
    // Most of the work was still in Redis when it died.
    expect(jobs.agent + jobs.send).toBeGreaterThanOrEqual(500);
    expect(counts.every((c) => c === 1)).toBe(true);
    expect(summary.reply_rows).toEqual({ sent: N + DURING });
    // The lost jobs came back through the reconciler (its log says so).
    expect(summary.reconciler.agent_redriven).toBeGreaterThan(0);
  }, 420_000);
});
