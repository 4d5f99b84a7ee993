import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv, ROOT } from '../../support/processes';

/**
 * Real gateway processes for the fault tests: `node --import tsx src/main.ts` with ROLE=api or
 * ROLE=worker, one OS process each (no tsx launcher in between), so that SIGKILL and SIGTERM
 * reach the gateway itself. They share a Postgres database and a Redis prefix.
 */
export interface GatewayProcess {
  name: string;
  child: ChildProcess;
  /** The HTTP port (api) or 0 (worker). */
  port: number;
  url: string;
  output(): string;
  /** JSON log lines so far (non-JSON lines are skipped). */
  logs(): Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const FAULT_APP_SECRET = 'fault-app-secret-0123456789';
export const FAULT_TOKEN = 'EAAG-fault-token';
export const FAULT_PHONE_NUMBER_ID = '106540352242922';
export const FAULT_WABA_ID = '102290129340398';

/** The environment every process of one test's cluster shares. */
export function clusterEnv(opts: { databaseUrl: string; redisUrl: string; graphUrl: string; openaiUrl: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fault-')),
    DATABASE_URL: opts.databaseUrl,
    DATABASE_POOL_MAX: '6',
    REDIS_URL: opts.redisUrl,
    REDIS_AUTOSTART: 'false',
    QUEUE_PREFIX: `f${randomBytes(5).toString('hex')}`,
    MASTER_KEY: randomBytes(32).toString('hex'),
    WHATSAPP_GRAPH_URL: opts.graphUrl,
    OPENAI_API_KEY: 'sk-fault-tests',
    OPENAI_BASE_URL: opts.openaiUrl,
    LLM_MAX_RETRIES: '0',
    LLM_TIMEOUT_MS: '20000',
    AGENT_DEBOUNCE_MS: '0',
    READ_RECEIPTS: 'off',
    TEMPLATE_SYNC_INTERVAL_MS: '0',
    WHATSAPP_MPS: '1000',
    ...opts.extra,
  };
}

/** The single number and admin key: only the API process gets them (it upserts them at start). */
export function apiOnlyEnv(adminKey: string): Record<string, string> {
  return {
    WHATSAPP_PHONE_NUMBER_ID: FAULT_PHONE_NUMBER_ID,
    WHATSAPP_WABA_ID: FAULT_WABA_ID,
    WHATSAPP_ACCESS_TOKEN: FAULT_TOKEN,
    WHATSAPP_APP_SECRET: FAULT_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: 'fault-verify',
    ADMIN_API_KEY: adminKey,
  };
}

export const newAdminKey = () => `gw_live_${randomBytes(24).toString('hex')}`;

const parseLines = (text: string) =>
  text.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** Every child this test file spawned (jest gives each test file its own copy of this module). */
const spawned = new Set<ChildProcess>();

/** Starts one gateway process and resolves once it serves HTTP (api) or runs its workers (worker). */
export async function startProcess(name: string, role: 'api' | 'worker', env: Record<string, string>, timeoutMs = 60_000): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: childEnv({ ...env, ROLE: role }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = role === 'api' ? /"port":(\d+)[^\n]*gateway listening/ : /workers running/;
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (e: Error) => {
      child.kill('SIGKILL');
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`${name} not ready within ${timeoutMs} ms:\n${out.slice(-4000)}`)), timeoutMs);
    const poll = setInterval(() => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(role === 'api' ? Number(m[1]) : 0);
      }
    }, 20);
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      clearInterval(poll);
      fail(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${out.slice(-4000)}`));
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    logs: () => parseLines(out),
    exit,
    alive,
    async kill(signal = 'SIGKILL') {
      if (alive()) child.kill(signal);
      return exit;
    },
  };
}

/** Kills every process this test file started that still runs (afterAll), and waits for them to be gone. */
export async function killSpawned(): Promise<void> {
  await Promise.all(
    [...spawned].map((c) =>
      c.exitCode === null && c.signalCode === null
        ? new Promise<void>((resolve) => {
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          })
        : undefined,
    ),
  );
  spawned.clear();
}
