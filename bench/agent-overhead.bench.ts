import { deleteRedisPrefix } from '../test/support/runtime';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createDatabase } from '../src/adapters/postgres/database';
import { startGraphEmulator, type GraphCall, type GraphEmulator } from '../test/support/graph-emulator';
import { startOpenAiEmulator, type ChatRequestView, type OpenAiEmulator } from '../test/support/openai-emulator';
import type { BenchRow } from './ingress.bench';
import { childGateway, inProcessGateway, type GatewayHost } from './lib/gateway-host';
import { machineCpuMs } from './lib/process-cpu';
import { withServerDatabase } from './lib/server-database';
import { driveWebhooks, summarize } from './lib/webhook-driver';

/**
 * bench/agent-overhead: a new conversation's text webhook to the agent's reply arriving at the
 * Graph emulator, with the model emulator answering at once and no debounce, so what is left is
 * the gateway's own overhead (ingress, queues, retrieval, the agent's transactions, the send
 * pipeline). Open loop at BENCH_AGENT_RATE new conversations per second. The baseline in the
 * same run is the webhook's own acknowledgement (the ingress alone) and the emulators' round
 * trips alone. Where the time goes comes from the rows' commit timestamps and the agent jobs.
 *
 * Knobs: BENCH_AGENT_RATE (20 new conversations/s), BENCH_AGENT_DURATION_S (15), BENCH_AGENT_WARMUP_S
 * (2), BENCH_AGENT_MODE (child | in-process | both), BENCH_AGENT_LOG_LEVEL (info, the gateway's
 * default), BENCH_AGENT_CPU_PROF=<dir> (a V8 CPU profile of the child gateway).
 */
const RATE = Number(process.env.BENCH_AGENT_RATE ?? 20);
const DURATION_S = Number(process.env.BENCH_AGENT_DURATION_S ?? 15);
const WARMUP_S = Number(process.env.BENCH_AGENT_WARMUP_S ?? 2);
/** child: the gateway in its own process (ROLE=all); in-process: in the bench's event loop; both. */
const MODE = process.env.BENCH_AGENT_MODE ?? 'child';
const LOG_LEVEL = process.env.BENCH_AGENT_LOG_LEVEL ?? 'info';
const TARGET_P99_MS = 150;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PHONE_NUMBER_ID = '106540352242922';
const APP_SECRET = 'bench-app-secret';
const TOKEN = 'bench-token';
const ADMIN_KEY = `gw_live_${randomBytes(24).toString('hex')}`;
const ANSWER = 'Bench answer:';

/** A model that answers from the first passage of its prompt, at once. */
function answerAtOnce(req: ChatRequestView) {
  const m = /\[(chk_[0-9a-z]+)\] \([^)]*\)\n([^\n]*)/.exec(req.system);
  return {
    json: { reply: `${ANSWER} ${m?.[2] ?? 'we are open every day.'}`, confidence: 0.9, source_chunk_ids: m ? [m[1] as string] : [], handoff: { requested: false, reason: null } },
  };
}

/** The three outside calls of one conversation, one after another, with nothing of ours in between. */
async function emulatorFloor(graph: GraphEmulator, openai: OpenAiEmulator, rounds: number): Promise<number[]> {
  const post = (url: string, body: unknown, key: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) }).then((r) => r.text());
  const times: number[] = [];
  // The first rounds compile the emulators' validators and open the connections: not measured.
  for (let i = -10; i < rounds; i++) {
    const t0 = performance.now();
    await post(`${openai.url}/embeddings`, { model: 'text-embedding-3-small', input: ['When are you open on Saturday?'] }, 'sk-bench');
    await post(`${openai.url}/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'When are you open?' }] }, 'sk-bench');
    await post(`${graph.url}/v23.0/${PHONE_NUMBER_ID}/messages`, { messaging_product: 'whatsapp', to: '+15550000000', type: 'text', text: { body: 'floor' } }, TOKEN);
    if (i >= 0) times.push(performance.now() - t0);
  }
  return times;
}

async function seedKnowledge(port: number): Promise<void> {
  const base = `http://127.0.0.1:${port}/v1/knowledge`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` };
  const body = { title: 'Opening hours', content: 'We are open Monday to Friday from 7am to 6pm and weekends from 8am to 4pm. Parking is free behind the shop.' };
  const created = await fetch(base, { method: 'POST', headers, body: JSON.stringify(body) });
  if (created.status !== 202) throw new Error(`POST /v1/knowledge answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  for (let i = 0; i < 300; i++) {
    const doc = (await (await fetch(`${base}/${id}`, { headers })).json()) as { status: string };
    if (doc.status === 'ready') return;
    if (doc.status === 'failed') throw new Error('the knowledge document failed to index');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the knowledge document was not ready in 30 s');
}

const repliesTo = (calls: GraphCall[]) => {
  const by = new Map<string, GraphCall[]>();
  for (const c of calls) {
    const b = c.body as { to?: string; type?: string };
    if (c.method !== 'POST' || !c.path.endsWith('/messages') || b.type !== 'text') continue;
    const to = String(b.to ?? '').replace(/^\+/, '');
    by.set(to, [...(by.get(to) ?? []), c]);
  }
  return by;
};

const fmt = (s: ReturnType<typeof summarize>) => `${s.p50.toFixed(0)} / ${s.p95.toFixed(0)} / ${s.p99.toFixed(0)} / ${s.max.toFixed(0)}`;

async function scenario(label: string, mode: 'child' | 'in-process', databaseUrl: string | undefined): Promise<BenchRow[]> {
  const graph = await startGraphEmulator(TOKEN);
  const openai = await startOpenAiEmulator({ apiKey: 'sk-bench' });
  openai.onChat(answerAtOnce);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-agent-'));
  const prefix = `bagent${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL,
    QUEUE_PREFIX: prefix,
    REDIS_URL,
    MASTER_KEY: randomBytes(32).toString('hex'),
    ADMIN_API_KEY: ADMIN_KEY,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    WHATSAPP_WABA_ID: '102290129340398',
    WHATSAPP_ACCESS_TOKEN: TOKEN,
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: 'bench-verify',
    WHATSAPP_GRAPH_URL: graph.url,
    WHATSAPP_MPS: '1000',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: openai.url,
    LLM_MAX_RETRIES: '0',
    AGENT_DEBOUNCE_MS: '0',
    READ_RECEIPTS: 'off',
    TEMPLATE_SYNC_INTERVAL_MS: '0',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  let gw: GatewayHost | undefined;
  try {
    const floor = summarize(await emulatorFloor(graph, openai, 100));
    gw = mode === 'child' ? await childGateway(env, process.env.BENCH_AGENT_CPU_PROF) : await inProcessGateway(env);
    await seedKnowledge(gw.port);
    const drive = (waIds: string[]) =>
      driveWebhooks({ url: `http://127.0.0.1:${gw?.port}/webhooks/whatsapp`, appSecret: APP_SECRET, phoneNumberId: PHONE_NUMBER_ID, waIds, rate: RATE, text: (i) => `Hi! When are you open on Saturday? (${i})` });
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => String(16_505_550_000 + from + i));
    const waitReplies = async (waIds: string[], ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const by = repliesTo(graph.calls);
        if (waIds.every((w) => by.has(w))) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Warm-up: the same path, not measured (JIT, connection pools, the send worker of the number).
    const warm = ids(0, Math.round(RATE * WARMUP_S));
    await drive(warm);
    await waitReplies(warm, 10_000);
    const measured = ids(100_000, Math.round(RATE * DURATION_S));
    const cpu0 = gw.cpuMs();
    const machine0 = machineCpuMs();
    const self0 = process.cpuUsage();
    const sent = await drive(measured);
    await waitReplies(measured, 15_000);
    const cpu1 = gw.cpuMs();
    const machine1 = machineCpuMs();
    const self1 = process.cpuUsage(self0);
    // Late duplicates (a redriven send, a second agent turn) would show up within this.
    await new Promise((r) => setTimeout(r, 1_500));

    const by = repliesTo(graph.calls);
    const latencies: number[] = [];
    const acks: number[] = [];
    let missing = 0;
    let duplicated = 0;
    let notAnswer = 0;
    const firstReplyAt = new Map<string, number>();
    for (const s of sent) {
      if (s.ackAt !== undefined && s.status === 200) acks.push(s.ackAt - s.sentAt);
      const r = by.get(s.waId) ?? [];
      if (r.length === 0) missing++;
      if (r.length > 1) duplicated++;
      const first = r[0];
      if (!first) continue;
      if (!String((first.body as { text?: { body?: string } }).text?.body ?? '').startsWith(ANSWER)) notAnswer++;
      latencies.push(first.at - s.sentAt);
      firstReplyAt.set(s.waId, first.at);
    }
    const nonOk = sent.filter((s) => s.status !== 200).length;

    // Where the time went, from the agent jobs (before the keys go) and the rows' timestamps
    // (transaction start times: the ingress commit, the agent's reply commit).
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const agentQueue = new Queue('agent', { connection: redis, prefix });
    const jobs = await agentQueue.getJobs(['completed', 'failed', 'delayed', 'waiting', 'active'], 0, -1);
    await agentQueue.close();
    redis.disconnect();
    const output = gw.output();
    await gw.stop();
    gw = undefined;
    const db = await createDatabase({ url: databaseUrl, dataDir: path.join(dataDir, 'pglite') });
    const { rows } = await db.pool.query<{ wa_id: string; conversation_id: string; in_at: Date; out_at: Date | null }>(
      `select c.wa_id, v.id as conversation_id, min(i.created_at) as in_at, min(o.created_at) as out_at
         from contacts c join conversations v on v.contact_id = c.id
         join messages i on i.conversation_id = v.id and i.direction = 'in'
         left join messages o on o.conversation_id = v.id and o.direction = 'out'
        group by c.wa_id, v.id`,
    );
    await db.close();
    const sentAt = new Map(sent.map((s) => [s.waId, s.sentAt]));
    const phases = { ingress: [] as number[], agent: [] as number[], send: [] as number[] };
    const convOf = new Map<string, string>();
    for (const r of rows) {
      convOf.set(r.conversation_id, r.wa_id);
      const t0 = sentAt.get(r.wa_id);
      const at = firstReplyAt.get(r.wa_id);
      if (t0 === undefined || at === undefined || !r.out_at) continue;
      phases.ingress.push(r.in_at.getTime() - t0);
      phases.agent.push(r.out_at.getTime() - r.in_at.getTime());
      phases.send.push(at - r.out_at.getTime());
    }
    const measuredJobs = jobs.filter((j) => sentAt.has(convOf.get((j.data as { conversationId: string }).conversationId) ?? ''));
    // A job moved back to the delayed set (DelayedError) starts again: attemptsStarted counts its runs.
    const again = measuredJobs.filter((j) => j.attemptsStarted > 1);
    const againWait = summarize(again.map((j) => (j.processedOn ?? j.timestamp) - j.timestamp));
    const outcomes = new Map<string, number>();
    for (const j of measuredJobs) {
      const o = (j.returnvalue as { outcome?: string } | null)?.outcome ?? (j.failedReason ? 'failed' : 'unfinished');
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }

    // Other work on the machine (other engineers' tests, the Postgres server, Redis) shows as busy
    // time that is neither the gateway's nor the bench's own (driver and emulators).
    let machineBusy: string | undefined;
    if (machine0 && machine1 && machine1.total > machine0.total) {
      const total = machine1.total - machine0.total;
      const pct = (v: number) => `${Math.round((v / total) * 100)}%`;
      const gateway = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : 0;
      const bench = (self1.user + self1.system) / 1000;
      const busy = machine1.busy - machine0.busy;
      machineBusy = `${pct(busy)}: ${pct(gateway)} / ${pct(bench)} / ${pct(busy - gateway - bench)} (steal ${pct(machine1.steal - machine0.steal)})`;
    }
    const all = summarize(latencies);
    const pass = all.n > 0 && all.p99 <= TARGET_P99_MS && missing === 0;
    if (missing > 0 || duplicated > 0) {
      process.exitCode = 1;
      process.stderr.write(`agent-overhead ${label}: gateway output (tail):\n${output.slice(-4000)}\n`);
    }
    const b = 'agent-overhead';
    return [
      { bench: b, metric: `${label}: webhook -> reply at Graph, p50 / p95 / p99 / max ms (${all.n} of ${sent.length} conversations answered, ${RATE} new/s)`, value: fmt(all) },
      { bench: b, metric: `${label}: target p99 <= ${TARGET_P99_MS} ms`, value: `${pass ? 'met' : 'NOT MET'} (p99 ${all.p99.toFixed(0)} ms${missing ? `, ${missing} never answered` : ''})` },
      { bench: b, metric: `${label}: conversations with no reply (must be 0)`, value: String(missing) },
      { bench: b, metric: `${label}: conversations with more than one reply (must be 0)`, value: String(duplicated) },
      { bench: b, metric: `${label}: replies that were not the model's answer / webhooks not answered 200`, value: `${notAnswer} / ${nonOk}` },
      { bench: b, metric: `${label}: baseline, webhook acknowledged (ingress alone), p50 / p95 / p99 / max ms`, value: fmt(summarize(acks)) },
      { bench: b, metric: `${label}: baseline, embeddings + chat + Graph send round trips alone, p50 / p95 / p99 / max ms`, value: fmt(floor) },
      { bench: b, metric: `${label}: phase webhook -> inbound commit began, p50 / p95 / p99 / max ms`, value: fmt(summarize(phases.ingress)) },
      { bench: b, metric: `${label}: phase inbound commit -> reply commit began (queue, retrieval, model), p50 / p95 / p99 / max ms`, value: fmt(summarize(phases.agent)) },
      { bench: b, metric: `${label}: phase reply commit -> at Graph (send queue, claim, HTTP), p50 / p95 / p99 / max ms`, value: fmt(summarize(phases.send)) },
      { bench: b, metric: `${label}: agent job outcomes`, value: [...outcomes].map(([o, n]) => `${o} ${n}`).join(', ') },
      {
        bench: b,
        metric: `${label}: agent jobs that looked again (ran before their rows committed): count, most runs of one job, added -> last run p50 / max ms`,
        value: `${again.length} / ${measuredJobs.length}, ${Math.max(0, ...again.map((j) => j.attemptsStarted))}, ${againWait.p50.toFixed(0)} / ${againWait.max.toFixed(0)}`,
      },
      ...(cpu0 !== undefined && cpu1 !== undefined
        ? [{ bench: b, metric: `${label}: gateway CPU per conversation, ms (share of one core at ${RATE}/s)`, value: `${((cpu1 - cpu0) / sent.length).toFixed(1)} (${(((cpu1 - cpu0) / sent.length) * RATE / 1000).toFixed(2)})` }]
        : []),
      ...(machineBusy
        ? [{ bench: b, metric: `${label}: machine CPU busy during the measured load, % of ${os.cpus().length} cores: gateway / bench and emulators / everything else`, value: machineBusy }]
        : []),
    ];
  } finally {
    await gw?.stop().catch(() => undefined);
    await graph.close();
    await openai.close();
    await deleteRedisPrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const modes: ('child' | 'in-process')[] = MODE === 'both' ? ['child', 'in-process'] : [MODE === 'in-process' ? 'in-process' : 'child'];
  const rows: BenchRow[] = [];
  for (const mode of modes) {
    const suffix = mode === 'child' ? 'gateway process' : 'gateway in the bench process';
    rows.push(...(await scenario(`embedded PGlite, ${suffix}`, mode, undefined)));
    rows.push(...((await withServerDatabase((url) => scenario(`Postgres, ${suffix}`, mode, url))) ?? []));
  }
  return rows;
}
