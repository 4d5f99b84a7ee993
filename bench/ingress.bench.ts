import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createDatabase } from '../src/adapters/postgres/database';
import { runLoad, startGateway, startServer, stop, ROOT } from './lib/processes';
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
  const load = await runLoad({
    url: `http://127.0.0.1:${gw.port}/webhooks/whatsapp`,
    connections: CONNECTIONS,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    appSecret: APP_SECRET,
    phoneNumberId: PHONE_NUMBER_ID,
  });
  await stop(gw.child);
  // Durability: every wamid the gateway acknowledged must be stored.
  const db = await createDatabase({ url: databaseUrl, dataDir: path.join(dataDir, 'pglite') });
  const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from messages where wamid = any($1::text[])', [load.acknowledged]);
  await db.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { label, load, stored: rows[0]?.n ?? 0 };
}

export async function run(): Promise<BenchRow[]> {
  const bare = await startServer([path.join(ROOT, 'bench/lib/bare-server.ts')], {}, /listening (\d+)/);
  const baseline = await runLoad({
    url: `http://127.0.0.1:${bare.port}/webhooks/whatsapp`,
    connections: CONNECTIONS,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    phoneNumberId: PHONE_NUMBER_ID,
  });
  await stop(bare.child);

  const runs = [await gatewayRun('embedded PGlite', undefined)];
  const onServer = await withServerDatabase((url) => gatewayRun('Postgres server', url));
  if (onServer) runs.push(onServer);

  const rows: BenchRow[] = [
    { bench: 'ingress', metric: `bare express 200: req/s (${CONNECTIONS} connections)`, value: baseline.rps.toFixed(0) },
    { bench: 'ingress', metric: 'bare express 200: p50 / p99 ms', value: `${baseline.p50.toFixed(1)} / ${baseline.p99.toFixed(1)}` },
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
        metric: `${r.label}: acknowledged wamids found in the database`,
        value: `${r.stored} / ${r.load.acknowledged.length}${r.stored === r.load.acknowledged.length ? '' : '  LOST MESSAGES'}`,
      },
    );
    if (r.stored !== r.load.acknowledged.length) process.exitCode = 1;
  }
  return rows;
}
