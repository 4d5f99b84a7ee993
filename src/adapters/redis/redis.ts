import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../lib/logger';

/**
 * ioredis connections, made for their role:
 * - producer: commands fail at once while Redis is down (no offline queue), so the ingress and
 *   the API answer 503 instead of hanging;
 * - worker: BullMQ workers block on Redis and must retry forever (maxRetriesPerRequest null).
 */
export type RedisRole = 'producer' | 'worker';

export function createRedis(url: string, role: RedisRole, logger?: Logger, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    ...(role === 'producer'
      ? {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 5_000,
          // Commands issued in the same tick (the jobs of concurrent webhooks) share a round trip.
          enableAutoPipelining: true,
        }
      : { maxRetriesPerRequest: null, enableReadyCheck: false }),
    retryStrategy: (times) => Math.min(250 * times, 5_000),
    ...extra,
  });
  let lastLogged = 0;
  redis.on('error', (err: Error) => {
    // A down Redis emits an error per reconnect attempt; one line every 10 s is enough.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger?.warn({ err: { message: err.message }, role }, 'redis connection error');
    }
  });
  return redis;
}

/** BullMQ is only correct when Redis never evicts keys; say so loudly when it might. */
export async function checkEvictionPolicy(redis: Redis, logger: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      logger.warn(
        { policy },
        'Redis maxmemory-policy is not noeviction: queued jobs can be evicted under memory pressure. Set maxmemory-policy noeviction.',
      );
    }
  } catch (e) {
    // Managed Redis often disables CONFIG; we cannot check, so we say that instead.
    logger.warn({ err: { message: (e as Error).message } }, 'could not read Redis maxmemory-policy; make sure it is noeviction');
  }
}

export async function pingWithTimeout(redis: Redis, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the connection is ready (or at once if it is); rejects after `ms`. */
export function waitReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${ms} ms`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
