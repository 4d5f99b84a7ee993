import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

async function reachable(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export class RedisUnavailableError extends Error {
  constructor(url: string) {
    const where = url.replace(/\/\/[^@/]*@/, '//***@');
    super(
      `Redis is not reachable at ${where}. The gateway needs Redis 7 for its queues.\n` +
        '  - Debian/Ubuntu: sudo apt-get install redis-server   (then it runs on 127.0.0.1:6379)\n' +
        '  - macOS: brew install redis && brew services start redis\n' +
        '  - Docker: docker run -d -p 6379:6379 redis:7 --maxmemory-policy noeviction\n' +
        '  - or point REDIS_URL at your Redis.',
    );
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Makes sure Redis answers. When nothing listens on the default address and redis-server is on
 * the PATH, starts one as a child process with its files under DATA_DIR/redis (append-only,
 * noeviction) and returns it, so that `npm start` works with no set-up at all.
 */
export async function ensureRedis(opts: {
  url: string;
  autostart: boolean;
  dataDir: string;
  logger: Logger;
}): Promise<ChildProcess | undefined> {
  if (await reachable(opts.url)) return undefined;
  const hasServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!opts.autostart || opts.url !== DEFAULT_REDIS_URL || !hasServer) throw new RedisUnavailableError(opts.url);
  const dir = path.join(opts.dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', '6379', '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i++) {
    if (await reachable(opts.url)) {
      opts.logger.info({ dir, pid: child.pid }, 'Redis was not running: started redis-server for this gateway');
      return child;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new RedisUnavailableError(opts.url);
}
