import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createDatabase } from '../src/adapters/postgres/database';
import { busiestThread, threadSchedMs, treeCpuMs } from './lib/process-cpu';
import { runLoad, startGateway, startServer, stop, ROOT, type LoadResult } from './lib/processes';
import { withServerDatabase } from './lib/server-database';

/**
 * bench/ingress: the real ingress (signature check, parsing, one transaction, the agent job in
 * Redis) against a bare express route that answers 200, in the same run on the same machine.
 * Afterwards, every acknowledged wamid must be in the database.
 *
 * Both servers are warmed up, then measured in turns: PAIRS pairs of short slices, one of each,
 * in alternating order, and the ratio is the median of the pairs' ratios. This machine's speed
 * drifts (the bare route has done 3,453 to 15,212 req/s on different days, and within one run a
 * fifth within a minute): the same build measured as one long run of each, one after the other,
 * gave 0.29 to 0.53, and in turns 0.45 to 0.48.
 */
export interface BenchRow {
  bench: string;
  metric: string;
  value: string;
}

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** A measured slice (after a second of its own for the connections to open), and how many pairs. */
const SLICE_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 10);
/**
 * Each server is driven this long before it is measured, by a run of its own that is not
 * counted: the measured run (and its CPU figures) is the steady state. V8 compiles hot code in
 * the background as it runs, and the embedded database's 9 MB of WebAssembly takes a while: in
 * consecutive 10-s runs of one gateway process, V8's background threads used 0.18, 0.11 and then
 * 0.03 ms of CPU per delivery. (The bare route's code is small and warm within a second.)
 */
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 20_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PHONE_NUMBER_ID = '106540352242922';
const APP_SECRET = 'bench-app-secret';

/**
 * Where the CPU went during the measured run (its first second included), from /proc: per answered request, the
 * server under test, its database backends and Redis (when they run on this machine), and the
 * load generator; how busy the machine was; and the server's main thread: the share of the run it
 * was on a CPU and the share it was runnable but waiting for one. Undefined parts are unknown
 * (not Linux, or a server on another machine).
 */
interface CpuReport {
  server?: number;
  database?: number;
  redis?: number;
  load: number;
  busy?: number;
  thread?: { run: number; wait: number };
}

async function withCpuReport(
  serverPid: number,
  probes: { databasePids?: () => Promise<number[]>; redisPid?: number },
  load: () => Promise<LoadResult>,
): Promise<{ load: LoadResult; cpu: CpuReport }> {
  const cpuOf = (pids: number[]) => {
    const m = new Map<number, number>();
    for (const p of pids) {
      const ms = treeCpuMs(p);
      if (ms !== undefined) m.set(p, ms);
    }
    return m;
  };
  const db0 = probes.databasePids ? cpuOf(await probes.databasePids()) : undefined;
  const server0 = treeCpuMs(serverPid);
  const redis0 = probes.redisPid ? treeCpuMs(probes.redisPid) : undefined;
  const sched0 = threadSchedMs(serverPid);
  const result = await load();
  const sched1 = threadSchedMs(serverPid);
  const redis1 = probes.redisPid ? treeCpuMs(probes.redisPid) : undefined;
  const server1 = treeCpuMs(serverPid);
  // Backends opened during the run count whole; those open before count from then.
  const db1 = probes.databasePids ? cpuOf(await probes.databasePids()) : undefined;
  const n = Math.max(1, result.answered);
  const per = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? (b - a) / n : undefined);
  let database: number | undefined;
  if (db0 && db1 && db1.size > 0) {
    database = 0;
    for (const [pid, ms] of db1) database += ms - (db0.get(pid) ?? 0);
    database /= n;
  }
  const thread = busiestThread(sched0, sched1);
  return {
    load: result,
    cpu: {
      server: per(server0, server1),
      database,
      redis: per(redis0, redis1),
      load: result.cpuMs / n,
      // Over the load generator's own run: its start-up (tsx) is neither load nor idle time.
      busy: result.machineBusy,
      thread: thread && { run: thread.run / result.runMs, wait: thread.wait / result.runMs },
    },
  };
}

/** The uncounted run that brings a server to its steady state (see WARMUP_MS). */
function warmUp(job: { url: string; appSecret?: string; phoneNumberId: string }): Promise<LoadResult> {
  return runLoad({ ...job, connections: CONNECTIONS, durationMs: WARMUP_MS, warmupMs: 0 });
}

/** A measured slice; its first second (connections opening) is not counted either. */
function slice(job: { url: string; appSecret?: string; phoneNumberId: string }): Promise<LoadResult> {
  return runLoad({ ...job, connections: CONNECTIONS, durationMs: SLICE_MS, warmupMs: 1_000, latencies: true });
}

interface Slices {
  loads: LoadResult[];
  cpu: CpuReport;
}

/** The CPU reports of several slices as one: per delivery over all of them, shares over their time. */
function mergeCpu(parts: { load: LoadResult; cpu: CpuReport }[]): CpuReport {
  const weighted = (pick: (c: CpuReport) => number | undefined, weight: (l: LoadResult) => number) => {
    let sum = 0;
    let total = 0;
    for (const p of parts) {
      const v = pick(p.cpu);
      if (v === undefined) return undefined;
      sum += v * weight(p.load);
      total += weight(p.load);
    }
    return total ? sum / total : undefined;
  };
  const perDelivery = (pick: (c: CpuReport) => number | undefined) => weighted(pick, (l) => l.answered);
  const overTime = (pick: (c: CpuReport) => number | undefined) => weighted(pick, (l) => l.runMs);
  const run = overTime((c) => c.thread?.run);
  const wait = overTime((c) => c.thread?.wait);
  return {
    server: perDelivery((c) => c.server),
    database: perDelivery((c) => c.database),
    redis: perDelivery((c) => c.redis),
    load: perDelivery((c) => c.load) ?? 0,
    busy: overTime((c) => c.busy),
    thread: run !== undefined && wait !== undefined ? { run, wait } : undefined,
  };
}

/** What the slices of one server add up to: req/s of each, latency percentiles over all. */
function summary(loads: LoadResult[]) {
  const all = loads.flatMap((l) => l.latencies ?? []).sort((a, b) => a - b);
  const pct = (p: number) => all[Math.min(all.length - 1, Math.floor((p / 100) * all.length))] ?? 0;
  const requests = loads.reduce((a, l) => a + l.requests, 0);
  const ok = loads.reduce((a, l) => a + (l.statuses['200'] ?? 0), 0);
  return { rps: loads.map((l) => l.rps), p50: pct(50), p99: pct(99), requests, refused: requests - ok };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));
const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${Math.round(v * 100)}%`);

type Job = { url: string; appSecret?: string; phoneNumberId: string };

async function gatewayRun(label: string, databaseUrl: string | undefined, bare: { job: Job; pid: number }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    ROLE: 'api',
    LOG_LEVEL: 'warn',
    QUEUE_PREFIX: prefix,
    REDIS_URL,
    MASTER_KEY: randomBytes(32).toString('hex'),
    WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    WHATSAPP_WABA_ID: '102290129340398',
    WHATSAPP_ACCESS_TOKEN: 'bench-token',
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: 'bench-verify',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const gw = await startGateway(env);
  const redis = new Redis(REDIS_URL);
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]) || undefined;
  // The gateway's backends on a server (the database of this run is the bench's own).
  const probe = databaseUrl ? new pg.Client({ connectionString: databaseUrl }) : undefined;
  await probe?.connect();
  const databasePids = probe
    ? async () =>
        (await probe.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows.map((r) => r.pid)
    : undefined;
  const job: Job = { url: `http://127.0.0.1:${gw.port}/webhooks/whatsapp`, appSecret: APP_SECRET, phoneNumberId: PHONE_NUMBER_ID };
  const warm = await warmUp(job);
  const ours: { load: LoadResult; cpu: CpuReport }[] = [];
  const theirs: { load: LoadResult; cpu: CpuReport }[] = [];
  const measureOurs = async () => ours.push(await withCpuReport(gw.child.pid as number, { databasePids, redisPid }, () => slice(job)));
  const measureTheirs = async () => theirs.push(await withCpuReport(bare.pid, {}, () => slice(bare.job)));
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2 === 0) {
      await measureTheirs();
      await measureOurs();
    } else {
      await measureOurs();
      await measureTheirs();
    }
  }
  await probe?.end();
  await stop(gw.child);
  // Durability: every wamid the gateway acknowledged, warm-up included, must be stored.
  const acknowledged = [...warm.acknowledged, ...ours.flatMap((o) => o.load.acknowledged)];
  const db = await createDatabase({ url: databaseUrl, dataDir: path.join(dataDir, 'pglite') });
  const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from messages where wamid = any($1::text[])', [acknowledged]);
  await db.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return {
    label,
    ours: { loads: ours.map((o) => o.load), cpu: mergeCpu(ours) } satisfies Slices,
    theirs: { loads: theirs.map((t) => t.load), cpu: mergeCpu(theirs) } satisfies Slices,
    ratios: ours.map((o, i) => o.load.rps / (theirs[i] as { load: LoadResult }).load.rps),
    stored: rows[0]?.n ?? 0,
    acknowledged: acknowledged.length,
    warmRefused: warm.requests - (warm.statuses['200'] ?? 0),
  };
}

export async function run(): Promise<BenchRow[]> {
  const bareServer = await startServer([path.join(ROOT, 'bench/lib/bare-server.ts')], {}, /listening (\d+)/);
  const bare = { job: { url: `http://127.0.0.1:${bareServer.port}/webhooks/whatsapp`, phoneNumberId: PHONE_NUMBER_ID }, pid: bareServer.child.pid as number };
  await runLoad({ ...bare.job, connections: CONNECTIONS, durationMs: 5_000, warmupMs: 0 });
  const runs = [await gatewayRun('embedded PGlite', undefined, bare)];
  const onServer = await withServerDatabase((url) => gatewayRun('Postgres server', url, bare));
  if (onServer) runs.push(onServer);
  await stop(bareServer.child);

  const rows: BenchRow[] = [];
  const f = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ');
  for (const r of runs) {
    const ours = summary(r.ours.loads);
    const theirs = summary(r.theirs.loads);
    const cpu = r.ours.cpu;
    const bareCpu = r.theirs.cpu;
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    rows.push(
      { bench: 'ingress', metric: `${r.label}: bare express 200, req/s of each slice (${CONNECTIONS} connections, ${PAIRS} slices of ${SLICE_MS / 1000} s)`, value: f(theirs.rps) },
      { bench: 'ingress', metric: `${r.label}: bare express 200: p50 / p99 ms`, value: `${theirs.p50.toFixed(1)} / ${theirs.p99.toFixed(1)}` },
      { bench: 'ingress', metric: `${r.label}: bare express 200: CPU ms per request: server / load generator`, value: `${ms(bareCpu.server)} / ${ms(bareCpu.load)}` },
      { bench: 'ingress', metric: `${r.label}: bare express 200: machine busy; server's main thread on a CPU / runnable but waiting for one`, value: `${pct(bareCpu.busy)}; ${pct(bareCpu.thread?.run)} / ${pct(bareCpu.thread?.wait)}` },
      { bench: 'ingress', metric: `${r.label}: req/s of each slice, durable`, value: f(ours.rps) },
      { bench: 'ingress', metric: `${r.label}: p50 / p99 ms`, value: `${ours.p50.toFixed(1)} / ${ours.p99.toFixed(1)}` },
      {
        bench: 'ingress',
        metric: `${r.label}: throughput ratio vs bare, median of the pairs [lowest-highest; all slices pooled] (target >= 0.4)`,
        value: `${median(r.ratios).toFixed(2)} [${Math.min(...r.ratios).toFixed(2)}-${Math.max(...r.ratios).toFixed(2)}; ${(sum(ours.rps) / sum(theirs.rps)).toFixed(2)}]`,
      },
      { bench: 'ingress', metric: `${r.label}: non-200 answers (measured / warm-up)`, value: `${ours.refused} / ${r.warmRefused}` },
      {
        bench: 'ingress',
        metric: `${r.label}: CPU ms per delivery: gateway / database server / Redis / load generator`,
        value: `${ms(cpu.server)} / ${r.label === 'embedded PGlite' ? '(in the gateway)' : ms(cpu.database)} / ${ms(cpu.redis)} / ${ms(cpu.load)}`,
      },
      {
        bench: 'ingress',
        metric: `${r.label}: machine busy; gateway's busiest thread on a CPU / runnable but waiting for one`,
        value: `${pct(cpu.busy)}; ${pct(cpu.thread?.run)} / ${pct(cpu.thread?.wait)}`,
      },
      {
        bench: 'ingress',
        metric: `${r.label}: acknowledged wamids found in the database (warm-up included)`,
        value: `${r.stored} / ${r.acknowledged}${r.stored === r.acknowledged ? '' : '  LOST MESSAGES'}`,
      },
    );
    if (r.stored !== r.acknowledged) process.exitCode = 1;
  }
  return rows;
}
