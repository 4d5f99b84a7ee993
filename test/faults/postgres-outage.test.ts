import type { GatewayProcess } from './lib/cluster';
import { createHarness, type Harness } from './lib/harness';
import { reconcilerTotals, unhandledErrors, writeReport } from './lib/report';
import { startTcpProxy, type TcpProxy } from './lib/tcp-proxy';
import { deliver, deliverUntilAccepted, inboundText, repliesByCustomer } from './lib/traffic';

/**
 * Issue 9, scenario 3: Postgres unavailable for 10 s. The gateway processes reach the server
 * through a TCP proxy of the test, which cuts every connection and refuses new ones for 10 s.
 * Meanwhile Meta keeps delivering (a new customer every 100 ms) and a load balancer polls
 * /readyz. Expected: the ingress answers 503 and never 200 without a durable write; /readyz turns
 * 503 within 5 s; once the server is back, Meta's retries are accepted and every message is
 * answered, once.
 */
describe('fault: Postgres unavailable for 10 s', () => {
  const OUTAGE_MS = 10_000;
  let h: Harness;
  let proxy: TcpProxy;
  let api: GatewayProcess;

  beforeAll(async () => {
    h = await createHarness();
    const server = new URL(h.db.url as string);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const viaProxy = new URL(h.db.url as string);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const env = { DATABASE_URL: viaProxy.toString() };
    api = await h.start('api', 'api', h.apiEnv(env));
    await h.start('worker-0', 'worker', env);
  });

  afterAll(async () => {
    await h?.teardown();
    await proxy?.close();
  });

  it('503 and never 200 without a durable write; /readyz 503 within 5 s; everything processed after recovery', async () => {
    const t0 = Date.now();
    let n = 0;
    const sent: { waId: string; wamid: string; status: number; at: number; done: number; d: ReturnType<typeof inboundText> }[] = [];
    const probes: { at: number; done: number; status: number }[] = [];
    let running = true;

    const meta = (async () => {
      while (running) {
        const i = n++;
        const waId = String(16505580000 + i);
        const d = inboundText(waId, `Question ${i}: are you open today?`, `wamid.PG${i}x${t0}`);
        const at = Date.now();
        const status = await deliver(api.url, d, 8_000);
        sent.push({ waId, wamid: d.wamid, status, at, done: Date.now(), d });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const balancer = (async () => {
      while (running) {
        const at = Date.now();
        const status = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(4_000) }).then((r) => r.status, () => 0);
        probes.push({ at, done: Date.now(), status });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    await new Promise((r) => setTimeout(r, 3_000));
    proxy.down();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    proxy.up();
    const upAt = Date.now();
    await new Promise((r) => setTimeout(r, 5_000));
    running = false;
    await Promise.all([meta, balancer]);

    // /readyz: 503 within 5 s of the outage, 200 again after it.
    const firstUnready = probes.find((p) => p.at >= downAt && p.status !== 200);
    expect(firstUnready?.status).toBe(503);
    expect((firstUnready?.at as number) - downAt).toBeLessThanOrEqual(5_000);
    // Every probe answered while the server was away (one sent just before it came back may be
    // answered after, by a server that is back: 200 is then right).
    const probesDuringOutage = probes.filter((p) => p.at > downAt + 1_000 && p.done < upAt);
    expect(probesDuringOutage.length).toBeGreaterThan(20);
    expect(probesDuringOutage.filter((p) => p.status !== 503)).toEqual([]);
    expect(probes.filter((p) => p.at > upAt + 3_000).map((p) => p.status)).toContain(200);

    // The ingress: only 200 or 503, and 503 for what was answered while the server was away.
    expect(sent.filter((s) => s.status !== 200 && s.status !== 503)).toEqual([]);
    const duringOutage = sent.filter((s) => s.at > downAt + 500 && s.done < upAt);
    expect(duringOutage.length).toBeGreaterThan(20);
    expect(duringOutage.every((s) => s.status === 503)).toBe(true);
    // Every 200 is durable: its wamid is in the database (read directly, not through the proxy).
    const acked = sent.filter((s) => s.status === 200).map((s) => s.wamid);
    const stored = new Set((await h.rows<{ wamid: string }>("select wamid from messages where direction = 'in'")).map((r) => r.wamid));
    expect(acked.filter((w) => !stored.has(w))).toEqual([]);

    // Meta retries what was refused; then everything is processed.
    for (const s of sent.filter((x) => x.status !== 200)) expect(await deliverUntilAccepted(() => api.url, s.d, 30_000)).toBe(200);
    const settleStart = Date.now();
    let open = { unanswered: -1, unfinished: -1 };
    while (Date.now() - settleStart < 120_000) {
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
    await new Promise((r) => setTimeout(r, 2_000));
    const [inbound] = await h.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'in'");
    expect(inbound?.n).toBe(sent.length);
    const replies = repliesByCustomer(h.graph.calls);
    const counts = sent.map((s) => replies.get(s.waId)?.length ?? 0);
    const rows = await h.rows<{ status: string; n: number }>("select status, count(*)::int as n from messages where direction = 'out' group by status");
    const summary = {
      deliveries: sent.length,
      refused_503: sent.filter((s) => s.status === 503).length,
      readyz_503_after_ms: (firstUnready?.at as number) - downAt,
      readyz_probes_during_outage: probesDuringOutage.length,
      readyz_200_again_after_ms: (probes.find((p) => p.at > upAt && p.status === 200)?.at ?? NaN) - upAt,
      connections_cut_or_refused: proxy.refused(),
      replied_once: counts.filter((c) => c === 1).length,
      replied_twice_or_more: counts.filter((c) => c > 1).length,
      not_replied: counts.filter((c) => c === 0).length,
      reply_rows: Object.fromEntries(rows.map((r) => [r.status, r.n])),
      recovered_s: Math.round((Date.now() - upAt) / 1000),
      reconciler: reconcilerTotals([...h.processes]),
    };
    writeReport('postgres-outage', summary);
    // No process died of it (a dropped connection once killed the worker).
    expect(unhandledErrors([...h.processes])).toEqual([]);
    expect([...h.processes].every((p) => p.alive())).toBe(true);
    expect(counts.every((c) => c === 1)).toBe(true);
    expect(summary.reply_rows).toEqual({ sent: sent.length });
  }, 240_000);
});
