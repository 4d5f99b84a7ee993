import type { Redis } from 'ioredis';
import { captureLogs } from '../../../test/support/logs';
import { checkEvictionPolicy, createRedis } from './redis';

describe('redis connections', () => {
  const fake = (reply: () => Promise<unknown>) => ({ config: reply }) as unknown as Redis;

  it('warns when maxmemory-policy is not noeviction', async () => {
    const logs = captureLogs();
    await checkEvictionPolicy(fake(async () => ['maxmemory-policy', 'allkeys-lru']), logs.logger);
    expect(logs.lines()).toEqual([expect.objectContaining({ level: 40, policy: 'allkeys-lru' })]);
  });

  it('stays quiet on noeviction, and says it cannot check when CONFIG is disabled', async () => {
    const quiet = captureLogs();
    await checkEvictionPolicy(fake(async () => ['maxmemory-policy', 'noeviction']), quiet.logger);
    expect(quiet.lines()).toEqual([]);
    const managed = captureLogs();
    await checkEvictionPolicy(fake(async () => Promise.reject(new Error("ERR unknown command 'CONFIG'"))), managed.logger);
    expect(managed.text()).toContain('could not read Redis maxmemory-policy');
  });

  it('a producer connection fails fast while Redis is unreachable instead of queueing commands', async () => {
    const redis = createRedis('redis://127.0.0.1:1', 'producer');
    const started = Date.now();
    await expect(redis.ping()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    redis.disconnect();
  });
});
