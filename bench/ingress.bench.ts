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
 */
export interface BenchRow {
  bench: string;
  metric: string;
  value: string;
}

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PHONE_NUMBER_ID = '106540352242922';
const APP_SECRET = 'bench-app-secret';

/**
 * Where the CPU went during a load run (warm-up included), from /proc: per answered request, the
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

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));
const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${Math.round(v * 100)}%`);

async function gatewayRun(label: string, databaseUrl: string | undefined) {
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
  const { load, cpu } = await withCpuReport(gw.child.pid as number, { databasePids, redisPid }, () =>
    runLoad({
      url: `http://127.0.0.1:${gw.port}/webhooks/whatsapp`,
      connections: CONNECTIONS,
      durationMs: DURATION_MS,
      warmupMs: WARMUP_MS,
      appSecret: APP_SECRET,
      phoneNumberId: PHONE_NUMBER_ID,
    }),
  );
  await probe?.end();
  await stop(gw.child);
  // Durability: every wamid the gateway acknowledged must be stored.
  const db = await createDatabase({ url: databaseUrl, dataDir: path.join(dataDir, 'pglite') });
  const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from messages where wamid = any($1::text[])', [load.acknowledged]);
  await db.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { label, load, cpu, stored: rows[0]?.n ?? 0 };
}

export async function run(): Promise<BenchRow[]> {
  const bare = await startServer([path.join(ROOT, 'bench/lib/bare-server.ts')], {}, /listening (\d+)/);
  const { load: baseline, cpu: bareCpu } = await withCpuReport(bare.child.pid as number, {}, () =>
    runLoad({
      url: `http://127.0.0.1:${bare.port}/webhooks/whatsapp`,
      connections: CONNECTIONS,
      durationMs: DURATION_MS,
      warmupMs: WARMUP_MS,
      phoneNumberId: PHONE_NUMBER_ID,
    }),
  );
  await stop(bare.child);

  const runs = [await gatewayRun('embedded PGlite', undefined)];
  const onServer = await withServerDatabase((url) => gatewayRun('Postgres server', url));
  if (onServer) runs.push(onServer);

  const rows: BenchRow[] = [
    { bench: 'ingress', metric: `bare express 200: req/s (${CONNECTIONS} connections)`, value: baseline.rps.toFixed(0) },
    { bench: 'ingress', metric: 'bare express 200: p50 / p99 ms', value: `${baseline.p50.toFixed(1)} / ${baseline.p99.toFixed(1)}` },
    { bench: 'ingress', metric: 'bare express 200: CPU ms per request: server / load generator', value: `${ms(bareCpu.server)} / ${ms(bareCpu.load)}` },
    { bench: 'ingress', metric: "bare express 200: machine busy; server's main thread on a CPU / runnable but waiting for one", value: `${pct(bareCpu.busy)}; ${pct(bareCpu.thread?.run)} / ${pct(bareCpu.thread?.wait)}` },
  ];
  for (const r of runs) {
    const ok = r.load.statuses['200'] ?? 0;
    rows.push(
      { bench: 'ingress', metric: `${r.label}: req/s, durable`, value: r.load.rps.toFixed(0) },
      { bench: 'ingress', metric: `${r.label}: p50 / p99 ms`, value: `${r.load.p50.toFixed(1)} / ${r.load.p99.toFixed(1)}` },
      { bench: 'ingress', metric: `${r.label}: throughput ratio vs bare (target >= 0.4)`, value: (r.load.rps / baseline.rps).toFixed(2) },
      { bench: 'ingress', metric: `${r.label}: non-200 answers`, value: String(r.load.requests - ok) },
      {
        bench: 'ingress',
        metric: `${r.label}: CPU ms per delivery: gateway / database server / Redis / load generator`,
        value: `${ms(r.cpu.server)} / ${r.label === 'embedded PGlite' ? '(in the gateway)' : ms(r.cpu.database)} / ${ms(r.cpu.redis)} / ${ms(r.cpu.load)}`,
      },
      {
        bench: 'ingress',
        metric: `${r.label}: machine busy; gateway's main thread on a CPU / runnable but waiting for one`,
        value: `${pct(r.cpu.busy)}; ${pct(r.cpu.thread?.run)} / ${pct(r.cpu.thread?.wait)}`,
      },
      {
        bench: 'ingress',
        metric: `${r.label}: acknowledged wamids found in the database`,
        value: `${r.stored} / ${r.load.acknowledged.length}${r.stored === r.load.acknowledged.length ? '' : '  LOST MESSAGES'}`,
      },
    );
    if (r.stored !== r.load.acknowledged.length) process.exitCode = 1;
  }
  return rows;
}
