import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/runtime';
import { waitFor } from '../support/wait';
import type { GatewayProcess } from './lib/cluster';
import { createHarness, type Harness } from './lib/harness';
import { unhandledErrors, writeReport } from './lib/report';
import { startTap, type Tap } from './lib/tap';
import { deliver, deliverUntilAccepted, inboundText, repliesByCustomer } from './lib/traffic';

/**
 * Issue 9, scenario 4: SIGTERM under load. A worker process is stopped while both of its agent
 * slots are busy in a (slow) model call and customers keep writing: it must take no new job,
 * finish the two turns it has within the deadline, exit 0, and lose nothing (no job abandoned
 * to the stalled-job check). Then the API process is stopped in the middle of a stream of
 * webhooks: in-flight deliveries are answered, every 200 is durable, it exits 0, and Meta's
 * retries to its replacement get everything in.
 */
describe('fault: SIGTERM under load', () => {
  let h: Harness;
  let api: GatewayProcess;
  let stopping: GatewayProcess;
  let modelTap: Tap;
  let graphTap: Tap;
  const unfinished = async () =>
    (
      await h.rows<{ unanswered: number; unfinished: number }>(
        `select (select count(*)::int from conversations c where c.mode = 'bot' and exists (
                   select 1 from messages m where m.conversation_id = c.id and m.direction = 'in'
                      and (c.last_answered_message_id is null or m.id > c.last_answered_message_id))) as unanswered,
                (select count(*)::int from messages where direction = 'out' and status in ('queued', 'sending')) as unfinished`,
      )
    )[0];

  beforeAll(async () => {
    h = await createHarness({ env: { AGENT_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '20000' } });
    h.openai.setDelay(1_000);
    modelTap = await startTap(new URL(h.openai.url).origin);
    graphTap = await startTap(h.graph.url);
    api = await h.start('api', 'api', h.apiEnv());
    [stopping] = await Promise.all([
      h.start('worker-stopping', 'worker', { OPENAI_BASE_URL: `${modelTap.url}/v1`, WHATSAPP_GRAPH_URL: graphTap.url }),
      h.start('worker-staying', 'worker'),
    ]);
  });

  afterAll(async () => {
    await h?.teardown();
    await Promise.all([modelTap?.close(), graphTap?.close()]);
  });

  it('a worker takes no new job, finishes its turns within the deadline, exits 0, and nothing is lost', async () => {
    const CUSTOMERS = 24;
    const t0 = Date.now();
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => String(16505590000 + i));
    const load = (async () => {
      for (const [i, waId] of customers.entries()) {
        expect(await deliver(api.url, inboundText(waId, `Customer ${waId} asks: is the shop open?`, `wamid.TERM${i}x${t0}`))).toBe(200);
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    // Both of its agent slots are in a model call: SIGTERM now.
    const inModel = () => modelTap.calls.filter((c) => c.path.endsWith('/chat/completions') && c.relayedAt === undefined);
    await waitFor('two turns in the model on the stopping worker', () => inModel().length === 2, 30_000);
    const busyAtSigterm = inModel().map((c) => /Customer (\d{11}) asks/.exec(c.body.toString('utf8'))?.[1] as string);
    const sigterm = Date.now();
    stopping.child.kill('SIGTERM');
    const exit = await stopping.exit;
    const exitedAfter = Date.now() - sigterm;
    await load;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAfter).toBeLessThan(20_000);
    expect(stopping.logs().find((l) => l.msg === 'shutdown complete')).toMatchObject({ outcome: 'clean' });
    // It took no new work: no model or Graph call started on it after the signal but the two
    // turns' answers, and it waited for them (the model answers a second after they asked).
    const modelAfter = modelTap.calls.filter((c) => c.at > sigterm);
    expect(modelAfter).toEqual([]);
    const relayed = modelTap.calls.filter((c) => c.path.endsWith('/chat/completions') && (c.relayedAt ?? 0) > sigterm);
    expect(relayed).toHaveLength(2);
    expect(exitedAfter).toBeGreaterThanOrEqual(Math.max(...relayed.map((c) => (c.relayedAt as number) - sigterm)));
    const graphAfter = graphTap.calls.filter((c) => c.at > sigterm + 1_000);
    expect(graphAfter).toEqual([]);

    // Nothing lost: the rest is answered by the other worker; every customer once.
    await waitFor('every customer answered', async () => {
      const o = await unfinished();
      return o?.unanswered === 0 && o.unfinished === 0;
    }, 90_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const replies = repliesByCustomer(h.graph.calls);
    expect(customers.map((w) => replies.get(w)?.length ?? 0)).toEqual(customers.map(() => 1));
    // The two turns it had were finished by it (their replies were stored before it exited).
    const [first, second] = await Promise.all(
      busyAtSigterm.map(async (w) => (await h.rows<{ created_at: Date }>("select m.created_at from messages m join conversations v on v.id = m.conversation_id join contacts c on c.id = v.contact_id where c.wa_id = $1 and m.direction = 'out'", [w]))[0]),
    );
    for (const r of [first, second]) expect(r?.created_at.getTime()).toBeLessThanOrEqual(sigterm + exitedAfter);
    // And no job was abandoned to BullMQ's stalled-job check.
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const agent = new Queue('agent', { connection: redis, prefix: h.prefix });
    const jobs = await agent.getJobs(['completed', 'failed']).finally(async () => {
      await agent.close();
      redis.disconnect();
    });
    expect(jobs.filter((j) => j.stalledCounter > 0 || j.failedReason)).toEqual([]);
    writeReport('sigterm-worker', {
      customers: CUSTOMERS,
      turns_in_flight_at_sigterm: busyAtSigterm.length,
      exited_after_ms: exitedAfter,
      exit,
      model_calls_after_sigterm: modelAfter.length,
      graph_calls_after_sigterm_plus_1s: graphAfter.length,
      stalled_or_failed_jobs: 0,
      replied_once: CUSTOMERS,
    });
  }, 150_000);

  it('the API finishes in-flight deliveries, every 200 is durable, exits 0; Meta retries the rest to its replacement', async () => {
    const t0 = Date.now();
    const N = 300;
    const deliveries = Array.from({ length: N }, (_, i) => ({ waId: String(16505591000 + i), d: inboundText(String(16505591000 + i), `Hello ${i}`, `wamid.APITERM${i}x${t0}`) }));
    const results: { i: number; status: number; at: number; doneAt: number }[] = [];
    let next = 0;
    let url = api.url;
    const old = api;
    const senders = Array.from({ length: 8 }, async () => {
      while (next < N) {
        const i = next++;
        const at = Date.now();
        const status = await deliver(url, (deliveries[i] as { d: ReturnType<typeof inboundText> }).d, 10_000);
        results.push({ i, status, at, doneAt: Date.now() });
      }
    });
    await waitFor('a third of the deliveries', () => results.length >= N / 3, 30_000);
    const sigterm = Date.now();
    old.child.kill('SIGTERM');
    const exit = await old.exit;
    await Promise.all(senders);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(old.logs().find((l) => l.msg === 'shutdown complete')).toMatchObject({ outcome: 'clean' });
    // Deliveries in flight at the signal are answered 200; later ones are 200 (on a connection
    // still open, which is then closed) or find the port closed (Meta retries): never a 5xx.
    expect(results.filter((r) => r.at < sigterm && r.status !== 200)).toEqual([]);
    expect(results.filter((r) => r.status !== 200 && r.status !== 0)).toEqual([]);
    const inFlight = results.filter((r) => r.at < sigterm && r.doneAt > sigterm).length;
    const refused = results.filter((r) => r.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    const acked = results.filter((r) => r.status === 200).map((r) => deliveries[r.i]?.d.wamid);
    const stored = new Set((await h.rows<{ wamid: string }>("select wamid from messages where direction = 'in'")).map((r) => r.wamid));
    expect(acked.filter((w) => !stored.has(w as string))).toEqual([]);

    // Meta retries the refused ones against the replacement.
    api = await h.start('api-2', 'api', h.apiEnv());
    url = api.url;
    for (const r of refused) expect(await deliverUntilAccepted(() => url, (deliveries[r.i] as { d: ReturnType<typeof inboundText> }).d, 30_000)).toBe(200);
    const [count] = await h.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'in' and wamid like $1", [`wamid.APITERM%x${t0}`]);
    expect(count?.n).toBe(N);
    expect(unhandledErrors([...h.processes])).toEqual([]);
    writeReport('sigterm-api', { deliveries: N, in_flight_at_sigterm: inFlight, acknowledged_before_exit: acked.length, refused_then_retried: refused.length, exit });
  }, 120_000);
});
