import { deleteRedisPrefix } from '../test/support/runtime';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRuntime } from '../src/composition';
import { loadConfig } from '../src/config/env';
import type { Principal } from '../src/domain/keys/api-keys.service';
import { SCOPES } from '../src/domain/keys/scopes';
import { createLogger } from '../src/lib/logger';
import { newId } from '../src/lib/ids';
import type { GraphCall } from '../test/support/graph-emulator';
import { startGraphEmulatorProcess } from './lib/graph-emulator-child';
import type { BenchRow } from './ingress.bench';
import { withServerDatabase } from './lib/server-database';

/**
 * bench/outbound: messages through the real send pipeline (POST /v1/messages' service, per-number
 * BullMQ queues and limiters, the Graph client) to the Graph emulator, whose arrival times are the
 * measurement: the achieved rate of each number against its limit, and the most messages any
 * number got into any sliding 1-second window.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = 'bench-token';

function stats(calls: GraphCall[], limit: number) {
  const t = calls.map((c) => c.at).sort((a, b) => a - b);
  let maxWindow = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && (t[j] as number) < (t[i] as number) + 1000) j++;
    maxWindow = Math.max(maxWindow, j - i);
  }
  // The sustained rate: what arrives after the first second, over the time it took. (Counting
  // from the first call would credit a sender that bursts its first second; subtracting a free
  // burst would penalize one that paces evenly from the start, as ours does.)
  const after = t.filter((x) => x >= (t[0] as number) + 1000);
  const spanS = after.length > 1 ? ((after.at(-1) as number) - (after[0] as number)) / 1000 : 0;
  const achieved = spanS > 0 ? (after.length - 1) / spanS : 0;
  return { count: t.length, achieved, ratio: achieved / limit, maxWindow };
}

async function scenario(label: string, numbers: number, perNumber: number, mps: number, databaseUrl?: string): Promise<BenchRow[]> {
  const graph = await startGraphEmulatorProcess(TOKEN);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-out-'));
  const prefix = `bout${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    MASTER_KEY: randomBytes(32).toString('hex'),
    WHATSAPP_GRAPH_URL: graph.url,
    TEMPLATE_SYNC_INTERVAL_MS: '0',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const rt = await createRuntime(config, createLogger({ level: 'silent' }), { redis: true, http: false, workers: true });
  try {
    const ws = await rt.services.tenancy.createWorkspace({ name: 'bench' });
    const principal: Principal = { workspaceId: ws.id, keyId: 'bench', mode: 'live', scopes: new Set(SCOPES) };
    const nums: { id: string; phoneNumberId: string; to: string }[] = [];
    for (let i = 0; i < numbers; i++) {
      const phoneNumberId = String(100_000_000_000_001 + i);
      const n = await rt.services.tenancy.addNumber({
        workspaceId: ws.id, phoneNumberId, wabaId: '900000000000001', accessToken: TOKEN, appSecret: 's', verifyToken: `v${i}`,
        messagesPerSecond: mps, source: 'cli',
      });
      // A customer who wrote a minute ago: the window is open.
      const to = `1555${String(1_000_000 + i)}`;
      const contactId = newId('contact');
      await rt.db.pool.query('insert into contacts (id, workspace_id, wa_id) values ($1, $2, $3)', [contactId, ws.id, to]);
      await rt.db.pool.query(
        `insert into conversations (id, workspace_id, phone_number_id, contact_id, last_inbound_at, window_expires_at)
         values ($1, $2, $3, $4, now() - interval '1 minute', now() + interval '1 day')`,
        [newId('conversation'), ws.id, n.id, contactId],
      );
      nums.push({ id: n.id, phoneNumberId, to: `+${to}` });
    }
    // Submit everything first (interleaved across numbers, 64 at a time), then start the workers:
    // what is measured is the send pipeline, not how fast the API accepts messages.
    const jobs = Array.from({ length: numbers * perNumber }, (_, k) => nums[k % numbers] as (typeof nums)[number]);
    for (let i = 0; i < jobs.length; i += 64) {
      await Promise.all(
        jobs.slice(i, i + 64).map((n, j) =>
          rt.services.outbound.submit(principal, { from: n.id, to: n.to, type: 'text', text: { body: `bench ${i + j}` } } as never),
        ),
      );
    }
    await rt.runWorkers();
    const total = numbers * perNumber;
    const deadline = Date.now() + (perNumber / mps) * 1000 * 3 + 30_000;
    while ((await graph.sends()) < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const all = await graph.calls();
    const sends = () => all.filter((c) => c.method === 'POST' && c.path.endsWith('/messages'));
    const rows: BenchRow[] = [];
    const bodies = new Map<string, number>();
    for (const c of sends()) {
      const b = (c.body as { text?: { body?: string } }).text?.body ?? '';
      bodies.set(b, (bodies.get(b) ?? 0) + 1);
    }
    const duplicated = [...bodies.values()].filter((n) => n > 1).length;
    rows.push({ bench: 'outbound', metric: `${label}: messages sent more than once (must be 0)`, value: String(duplicated) });
    if (duplicated > 0) process.exitCode = 1;
    let worstRatio = Infinity;
    let worstWindow = 0;
    for (const n of nums) {
      const s = stats(sends().filter((c) => c.path === `/v23.0/${n.phoneNumberId}/messages`), mps);
      worstRatio = Math.min(worstRatio, s.ratio);
      worstWindow = Math.max(worstWindow, s.maxWindow);
      if (s.count !== perNumber) rows.push({ bench: 'outbound', metric: `${label}: number ${n.phoneNumberId} delivered`, value: `${s.count} / ${perNumber}` });
    }
    const failed = await rt.db.pool.query<{ n: number }>("select count(*)::int as n from messages where direction = 'out' and status = 'failed'");
    rows.push(
      { bench: 'outbound', metric: `${label}: messages accepted by the emulator`, value: `${sends().length} / ${total}` },
      { bench: 'outbound', metric: `${label}: messages marked failed (timeouts count as unknown outcome)`, value: String(failed.rows[0]?.n ?? 0) },
      { bench: 'outbound', metric: `${label}: lowest achieved/limit ratio of a number (target >= 0.90)`, value: worstRatio.toFixed(2) },
      { bench: 'outbound', metric: `${label}: most messages of one number in any 1 s window (limit ${mps})`, value: String(worstWindow) },
    );
    return rows;
  } finally {
    await rt.close();
    await graph.close();
    await deleteRedisPrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// BENCH_ONLY (a regular expression) runs only the scenarios whose label matches it.
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const selected = (label: string) => !only || only.test(label);

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const scenarios: [string, number, number, number][] = [
    ['10 numbers x 400 at 80/s', 10, 400, 80],
    ['1 number x 4000 at 1000/s', 1, 4000, 1000],
  ];
  for (const [label, numbers, perNumber, mps] of scenarios) {
    if (selected(`embedded PGlite, ${label}`)) rows.push(...(await scenario(`embedded PGlite, ${label}`, numbers, perNumber, mps)));
  }
  for (const [label, numbers, perNumber, mps] of scenarios) {
    if (!selected(`Postgres, ${label}`)) continue;
    rows.push(...((await withServerDatabase((url) => scenario(`Postgres, ${label}`, numbers, perNumber, mps, url))) ?? []));
  }
  return rows;
}
