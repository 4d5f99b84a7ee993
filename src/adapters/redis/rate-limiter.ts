import type { Redis } from 'ioredis';
import type { RateLimitDecision, RateLimitPolicy, RateLimiter } from '../../domain/limits/rate-limiter.port';

/**
 * GCRA (the generic cell rate algorithm) in one Lua script: one key per (API key, policy) holding
 * the "theoretical arrival time"; atomic across every API process, and the clock is Redis's own
 * (TIME), so processes with skewed clocks agree. A refund moves the arrival time back by one
 * interval, never before now.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if cost < 0 then
  local back = tat + cost * interval
  if back < now then back = now end
  if back > now then redis.call('SET', KEYS[1], back, 'PX', math.ceil(back - now)) else redis.call('DEL', KEYS[1]) end
  return {1, 0, 0, 0}
end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
local remaining = math.floor((now - (new_tat - period)) / interval)
return {1, remaining, new_tat - now, 0}
`;

type GcraRedis = Redis & { gcra(key: string, interval: number, period: number, cost: number): Promise<[number, number, number, number]> };

export function createRedisRateLimiter(deps: { redis: Redis; prefix: string }): RateLimiter {
  const redis = deps.redis as GcraRedis;
  // defineCommand: EVALSHA with the script loaded once (EVAL again only after a Redis restart).
  if (typeof redis.gcra !== 'function') redis.defineCommand('gcra', { numberOfKeys: 1, lua: SCRIPT });
  const keyOf = (key: string, p: RateLimitPolicy) => `${deps.prefix}:rl:${p.name}:${key}`;
  const interval = (p: RateLimitPolicy) => p.windowMs / p.limit;
  return {
    async take(key, p): Promise<RateLimitDecision> {
      const [allowed, remaining, resetMs, retryAfterMs] = await redis.gcra(keyOf(key, p), interval(p), p.windowMs, 1);
      return { allowed: allowed === 1, limit: p.limit, remaining: Math.max(0, remaining), resetMs: Math.max(0, resetMs), retryAfterMs: Math.max(0, retryAfterMs) };
    },
    async refund(key, p) {
      await redis.gcra(keyOf(key, p), interval(p), p.windowMs, -1);
    },
  };
}
