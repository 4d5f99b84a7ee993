import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startGraphEmulator, type GraphEmulator } from '../../support/graph-emulator';
import { startOpenAiEmulator, type OpenAiEmulator } from '../../support/openai-emulator';
import { ROOT } from '../../support/processes';
import { deleteRedisPrefix, REDIS_URL } from '../../support/runtime';
import { apiOnlyEnv, clusterEnv, FAULT_TOKEN, killSpawned, newAdminKey, startProcess, type GatewayProcess } from './cluster';
import { echoAnswer } from './traffic';

/**
 * One fault test's world: a scratch database on the Postgres server (the processes share it;
 * PGlite cannot be shared), the Graph and OpenAI emulators in the test process, and the gateway
 * processes it starts, all killed in teardown.
 */
export interface Harness {
  db: TestDatabase;
  graph: GraphEmulator;
  openai: OpenAiEmulator;
  env: Record<string, string>;
  adminKey: string;
  prefix: string;
  processes: Set<GatewayProcess>;
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Starts a process of the cluster; `extra` overrides the shared environment. */
  start(name: string, role: 'api' | 'worker', extra?: Record<string, string>): Promise<GatewayProcess>;
  /** The API process's environment: the single number and the admin key, direct to the emulators. */
  apiEnv(extra?: Record<string, string>): Record<string, string>;
  teardown(): Promise<void>;
}

export function requireServerDatabase(): void {
  if (!process.env.TEST_DATABASE_URL) {
    throw new Error(
      'The fault tests run real gateway processes that share one database: set TEST_DATABASE_URL, e.g. ' +
        'TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run test:faults',
    );
  }
}

export async function createHarness(opts: { redisUrl?: string; env?: Record<string, string> } = {}): Promise<Harness> {
  requireServerDatabase();
  const db = await createTestDatabase();
  const graph = await startGraphEmulator(FAULT_TOKEN);
  const openai = await startOpenAiEmulator();
  openai.onChat(echoAnswer);
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const env = clusterEnv({ databaseUrl: db.url as string, redisUrl, graphUrl: graph.url, openaiUrl: openai.url, extra: opts.env });
  const adminKey = newAdminKey();
  const processes = new Set<GatewayProcess>();
  return {
    db,
    graph,
    openai,
    env,
    adminKey,
    prefix: env.QUEUE_PREFIX as string,
    processes,
    rows: async <T,>(sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows as T[],
    apiEnv: (extra = {}) => ({ ...apiOnlyEnv(adminKey), ...extra }),
    async start(name, role, extra = {}) {
      const p = await startProcess(name, role, { ...env, ...extra });
      processes.add(p);
      return p;
    },
    async teardown() {
      await killSpawned();
      // Every process's output, for the post-mortem of a failed run.
      const dir = path.join(ROOT, 'test', 'artifacts', 'faults', expect.getState().testPath?.split('/').pop()?.replace(/\.test\.ts$/, '') ?? 'unknown');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      for (const p of processes) fs.writeFileSync(path.join(dir, `${p.name}.log`), p.output());
      await Promise.all([graph.close(), openai.close()]);
      await db.close();
      if (redisUrl === REDIS_URL) await deleteRedisPrefix(env.QUEUE_PREFIX as string);
      fs.rmSync(env.DATA_DIR as string, { recursive: true, force: true });
    },
  };
}
