import type { Redis } from 'ioredis';

/**
 * A per-key pacing gate in Redis, shared by every worker process: each caller reserves the next
 * free slot, spaced `intervalMs` apart (one atomic script, Redis's own clock), and learns how
 * long to wait for it. Evenly spaced slots keep any sliding 1-second window at or under the
 * rate, which BullMQ's fixed-window limiter does not (it allows up to twice the rate across a
 * window boundary).
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
return tat - now
`;

export interface RateGate {
  /** Reserves a slot; resolves with the milliseconds to wait before using it. */
  reserve(key: string, perSecond: number): Promise<number>;
}

export function createRateGate(redis: Redis, prefix: string, opts: { margin?: number } = {}): RateGate {
  // A little slower than the limit, so jitter between us and Meta never pushes a window over it.
  const margin = opts.margin ?? 1.03;
  return {
    async reserve(key, perSecond) {
      const interval = (1000 / perSecond) * margin;
      const wait = (await redis.eval(RESERVE, 1, `${prefix}:gate:${key}`, String(interval))) as number;
      return Math.max(0, Number(wait));
    },
  };
}
