import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { createRuntime, type Runtime } from '../../src/composition';
import { loadConfig, type Config } from '../../src/config/env';
import type { Logger } from '../../src/lib/logger';
import { captureLogs } from './logs';
import { createTestDatabase, type TestDatabase } from './database';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL,
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'gw-test-')),
    QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
    MASTER_KEY: randomBytes(32).toString('hex'),
    // Vacuums on a 2 s timer would only add noise to tests; housekeeping.test.ts tests it.
    DATABASE_HOUSEKEEPING: 'off',
    ...env,
  });
}

export interface TestRuntime extends Runtime {
  testDb: TestDatabase;
  logs: ReturnType<typeof captureLogs>;
  /** Closes the runtime, drops the database, deletes this test's Redis keys. */
  teardown(): Promise<void>;
}

export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function createTestRuntime(
  opts: { env?: Record<string, string>; redis?: boolean; workers?: boolean; logger?: Logger } = {},
): Promise<TestRuntime> {
  const config = testConfig(opts.env);
  const testDb = await createTestDatabase();
  const logs = captureLogs();
  const runtime = await createRuntime(config, opts.logger ?? logs.logger, {
    redis: opts.redis ?? true,
    http: true,
    workers: opts.workers ?? false,
    database: testDb,
  });
  return {
    ...runtime,
    testDb,
    logs,
    async teardown() {
      await runtime.close();
      await testDb.close();
      await deleteRedisPrefix(config.queuePrefix);
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
