import type { Redis } from 'ioredis';

/**
 * A per-key pacing gate in Redis, shared by every worker process: each caller reserves the next
 * free slot, spaced `intervalMs` apart (one atomic script, Redis's own clock), and learns how
 * long to wait for it. Evenly spaced slots keep any sliding 1-second window at or under the
 * rate, which BullMQ's fixed-window limiter does not (it allows up to twice the rate across a
 * window boundary).
 *
 * With a `hold` key (a recipient's 131056 pause), the same round trip first reads it: while it
 * exists no slot is taken, and its value (the time the pause ends) is returned instead.
 */
const RESERVE = `
if KEYS[2] then
  local held = redis.call('GET', KEYS[2])
  if held then return {1, held} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
return {0, tostring(tat - now)}
`;

/**
 * The guard at the moment of the call: a log of the number's calls in the last second (Redis
 * clock). A call is admitted only while fewer than `limit` are in it; otherwise the script says
 * how long until the oldest leaves. Slots are reserved before the claim, so a call can leave a
 * little after its slot; without this guard, calls delayed by a slow moment would bunch up
 * with punctual ones and a 1-second window could hold more than the limit.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 2000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + 1000 - now + 1)
`;

export interface RateGate {
  /**
   * Right before a call: records it in the number's last second and resolves when fewer than
   * `limit` calls are in it (waiting, in place, as long as needed).
   */
  admit(key: string, limit: number, callId: string): Promise<void>;
  /** Reserves a slot; resolves with the milliseconds to wait before using it. */
  reserve(key: string, perSecond: number): Promise<number>;
  /**
   * Like `reserve`, unless the Redis key `hold` exists: then no slot is taken and its value
   * (a time in ms since the epoch) is returned as `heldUntil`.
   */
  reserveUnlessHeld(key: string, perSecond: number, hold: string): Promise<{ wait: number } | { heldUntil: number }>;
}

const COMMAND = 'gatewayRateGateReserve';
const ADMIT_COMMAND = 'gatewayRateGateAdmit';
type WithCommand = Redis &
  Record<typeof COMMAND, (...args: (string | number)[]) => Promise<[number, string]>> &
  Record<typeof ADMIT_COMMAND, (...args: (string | number)[]) => Promise<number>>;

/**
 * How much slower than a number's limit its sends are paced (slots and the admit guard): calls
 * reach Meta with some jitter after they are admitted (the bench saw up to ~50 ms of bunching on
 * a loaded machine), so a sliding second at Meta's end can hold a few more than were admitted in
 * any second here. 6 % keeps it under the limit and leaves ~94 % of it usable.
 */
export const PACE_MARGIN = 1.06;

export function createRateGate(redis: Redis, prefix: string, opts: { margin?: number } = {}): RateGate {
  const margin = opts.margin ?? PACE_MARGIN;
  // EVALSHA with the script loaded once (ioredis falls back to EVAL after a Redis restart),
  // instead of sending its text with every message.
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: RESERVE });
  if (!(ADMIT_COMMAND in redis)) redis.defineCommand(ADMIT_COMMAND, { lua: ADMIT });
  const run = (redis as WithCommand)[COMMAND].bind(redis);
  const admit = (redis as WithCommand)[ADMIT_COMMAND].bind(redis);
  const interval = (perSecond: number) => String((1000 / perSecond) * margin);
  return {
    async admit(key, limit, callId) {
      for (;;) {
        const wait = Number(await admit(1, `${prefix}:calls:${key}`, String(limit), callId));
        if (wait <= 0) return;
        await new Promise((r) => setTimeout(r, wait));
      }
    },
    async reserve(key, perSecond) {
      const [, wait] = await run(1, `${prefix}:gate:${key}`, interval(perSecond));
      return Math.max(0, Number(wait));
    },
    async reserveUnlessHeld(key, perSecond, hold) {
      const [held, value] = await run(2, `${prefix}:gate:${key}`, hold, interval(perSecond));
      return held === 1 ? { heldUntil: Number(value) } : { wait: Math.max(0, Number(value)) };
    },
  };
}
