import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { DispatchItem } from '../../domain/ingress/ingress.port';
import type { Logger } from '../../lib/logger';
import type { Queues } from './queues';

/**
 * The agent's debounce, in Redis: the conversations that have messages to answer, each with the
 * time its answer is due (a sorted set) and the data of its next agent job (a hash). A new message
 * moves its conversation's due time to now + the debounce, so a burst of messages gets one answer
 * after the customer pauses. When a conversation is due, a promoter (in every worker process)
 * adds its agent job to the BullMQ queue.
 *
 * Why not a delayed BullMQ job per message, rescheduled by the next one: that is one BullMQ
 * script per inbound message, which creates a job, removes the one it replaces and writes the
 * queue's event stream. It was the largest cost of the ingress after the database (bench/ingress:
 * about a quarter of its throughput). Here a group of deliveries costs one short script, and the
 * BullMQ job is made once per answer.
 *
 * Nothing is lost between the two: an entry leaves the set only after its job is in the queue, and
 * only if no message moved it meanwhile (its due time and data are unchanged). A promoter that
 * stops between the two leaves the entry, and the next pass adds the same job id again (a no-op).
 * Times come from Redis's clock (TIME), so hosts whose clocks differ agree on what is due.
 */
export interface AgentDebounce {
  /** Sets each item's conversation due in `debounceMs` (later messages push it back). */
  schedule(items: DispatchItem[]): Promise<void>;
  /** Adds the agent jobs of the conversations now due (up to `limit`); returns how many. */
  promoteDue(limit?: number): Promise<number>;
  /** Whether the conversation waits in the debounce. */
  pending(conversationId: string): Promise<boolean>;
  /** How many conversations wait in it. */
  size(): Promise<number>;
  /** Forgets every waiting conversation, as a Redis restart would (the reconciler finds them). */
  clear(): Promise<void>;
  /**
   * Promotes due conversations every `everyMs` (and when one scheduled by this process falls due)
   * until the returned stop(), which awaits a pass under way.
   */
  start(opts?: { everyMs?: number }): { stop(): Promise<void> };
}

/** The job data kept per conversation: the latest message's (and the reconciler's round, if any). */
const entrySchema = z.object({
  workspaceId: z.string(),
  conversationId: z.string(),
  messageId: z.string(),
  round: z.string().optional(),
  correlationId: z.string().max(128).optional(),
});

/** The agent job id of an entry: deterministic, so adding it twice adds one job. */
export const agentJobId = (e: { conversationId: string; messageId: string; round?: string }) =>
  `agent-${e.conversationId}-${e.messageId}${e.round ? `-${e.round}` : ''}`;

/** Every agent job of a conversation shares this deduplication id (at most one waiting, one running). */
export const agentDeduplicationId = (conversationId: string) => `agent-${conversationId}`;

/**
 * The options of every agent job (the promoter's and the reconciler's): its deterministic id, and
 * the conversation's deduplication id, so that a message arriving while the agent works gets a
 * follow-up job instead of being missed.
 */
export const agentJobOptions = (e: { conversationId: string; messageId: string; round?: string }) => ({
  jobId: agentJobId(e),
  deduplication: { id: agentDeduplicationId(e.conversationId), keepLastIfActive: true },
});

/** Entries promoted per pass (a full pass is followed at once by another). */
const BATCH = 500;

// Scores are microseconds of Redis's clock: two messages of one conversation never get the same one.
const NOW_US = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000000 + tonumber(t[2])";

// KEYS: due set, data hash. ARGV: debounce (ms), then conversation id and job data, pairs.
const SCHEDULE = `${NOW_US}
local due = now + tonumber(ARGV[1]) * 1000
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], due, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return #ARGV / 2`;

// KEYS: due set, data hash. ARGV: limit. Returns conversation id, score, data (false if none), triples.
const DUE = `${NOW_US}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i]
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i]) or ''
end
return out`;

// KEYS: due set, data hash. ARGV: conversation id, score, data, triples as DUE returned them.
// Removes an entry only if no message changed it since.
const ACK = `local n = 0
for i = 1, #ARGV, 3 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) and (redis.call('HGET', KEYS[2], ARGV[i]) or '') == ARGV[i + 2] then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
    n = n + 1
  end
end
return n`;

type ScriptedRedis = Redis & {
  agentDebounceSchedule(due: string, data: string, ...args: (string | number)[]): Promise<number>;
  agentDebounceDue(due: string, data: string, limit: number): Promise<string[]>;
  agentDebounceAck(due: string, data: string, ...args: string[]): Promise<number>;
};

function withScripts(redis: Redis): ScriptedRedis {
  const r = redis as ScriptedRedis;
  // defineCommand is idempotent per name; the commands run as EVALSHA (loaded on first NOSCRIPT).
  if (typeof r.agentDebounceSchedule !== 'function') {
    redis.defineCommand('agentDebounceSchedule', { numberOfKeys: 2, lua: SCHEDULE });
    redis.defineCommand('agentDebounceDue', { numberOfKeys: 2, lua: DUE });
    redis.defineCommand('agentDebounceAck', { numberOfKeys: 2, lua: ACK });
  }
  return r;
}

/** Its two keys, under the queues' prefix. */
export const agentDebounceKeys = (prefix: string) => ({ due: `${prefix}:agent-debounce:due`, data: `${prefix}:agent-debounce:data` });

export function createAgentDebounce(deps: {
  redis: Redis;
  prefix: string;
  queues: Pick<Queues, 'addBulk'>;
  debounceMs: number;
  logger: Logger;
}): AgentDebounce {
  const redis = withScripts(deps.redis);
  const { due: dueKey, data: dataKey } = agentDebounceKeys(deps.prefix);
  /** Set while this process runs a promoter: asks it for a pass in `inMs`. */
  let wake: ((inMs: number) => void) | undefined;

  async function promoteDue(limit = BATCH): Promise<number> {
    const raw = await redis.agentDebounceDue(dueKey, dataKey, limit);
    if (raw.length === 0) return 0;
    const entries: { id: string; score: string; data: string; job?: z.output<typeof entrySchema> }[] = [];
    for (let i = 0; i + 2 < raw.length; i += 3) {
      const id = raw[i] as string;
      const score = raw[i + 1] as string;
      const data = raw[i + 2] as string;
      let job: z.output<typeof entrySchema> | undefined;
      try {
        const parsed = entrySchema.safeParse(JSON.parse(data));
        if (parsed.success && parsed.data.conversationId === id) job = parsed.data;
      } catch {
        // Reported below.
      }
      // An entry without usable data cannot become a job; it is dropped, said, and the sweeper's
      // reconciler finds the conversation unanswered.
      if (!job) deps.logger.warn({ conversation_id: id }, 'agent debounce entry without job data: dropped');
      entries.push({ id, score, data, job });
    }
    const jobs = entries.flatMap((e) => (e.job ? [e.job] : []));
    if (jobs.length) {
      await deps.queues.addBulk(
        'agent',
        jobs.map((j) => ({
          data: { workspaceId: j.workspaceId, conversationId: j.conversationId, messageId: j.messageId, ...(j.correlationId ? { correlationId: j.correlationId } : {}) },
          opts: agentJobOptions(j),
        })),
      );
    }
    await redis.agentDebounceAck(dueKey, dataKey, ...entries.flatMap((e) => [e.id, e.score, e.data]));
    return entries.length;
  }

  return {
    async schedule(items) {
      if (items.length === 0) return;
      // One entry per conversation: the latest item's data (items come oldest first).
      const latest = new Map(items.map((i) => [i.conversationId, i]));
      const args: string[] = [];
      for (const i of latest.values()) {
        const data: z.input<typeof entrySchema> = { workspaceId: i.workspaceId, conversationId: i.conversationId, messageId: i.messageId };
        if (i.round) data.round = i.round;
        if (i.correlationId) data.correlationId = i.correlationId;
        args.push(i.conversationId, JSON.stringify(data));
      }
      await redis.agentDebounceSchedule(dueKey, dataKey, deps.debounceMs, ...args);
      wake?.(deps.debounceMs);
    },

    promoteDue,

    async pending(conversationId) {
      return (await redis.zscore(dueKey, conversationId)) !== null;
    },

    async size() {
      return redis.zcard(dueKey);
    },

    async clear() {
      await redis.del(dueKey, dataKey);
    },

    start(opts = {}) {
      const everyMs = opts.everyMs ?? 50;
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let timerAt = Infinity;
      let pass: Promise<void> | undefined;
      let again = false;
      let failing = false;
      const arm = (inMs: number) => {
        if (stopped) return;
        const at = Date.now() + inMs;
        if (pass) {
          // After the pass under way: it may have read the set before this entry was due.
          if (inMs <= 0) again = true;
          else if (at < timerAt) setTimer(at);
          return;
        }
        if (at < timerAt) setTimer(at);
      };
      const setTimer = (at: number) => {
        if (timer) clearTimeout(timer);
        timerAt = at;
        timer = setTimeout(tick, Math.max(0, at - Date.now()));
      };
      const tick = () => {
        timer = undefined;
        timerAt = Infinity;
        if (pass) {
          again = true;
          return;
        }
        pass = (async () => {
          try {
            // A full batch means more may be due: go on at once.
            while (!stopped && (await promoteDue()) === BATCH);
            if (failing) deps.logger.info('agent debounce: promoting again');
            failing = false;
          } catch (e) {
            // Redis down, say: the entries wait in Redis (or, if Redis lost them, the messages
            // are still unanswered in Postgres, where the reconciler finds them).
            if (!failing) deps.logger.warn({ err: { message: (e as Error).message } }, 'agent debounce: could not promote due conversations (will retry)');
            failing = true;
          }
        })();
        void pass.finally(() => {
          pass = undefined;
          const soon = again;
          again = false;
          arm(soon ? 0 : everyMs);
        });
      };
      // A conversation scheduled in this process (ROLE=all) is promoted when it falls due, not
      // up to a poll later; the others (scheduled by an API process) at the next poll.
      wake = (inMs) => arm(inMs);
      arm(0);
      return {
        async stop() {
          stopped = true;
          wake = undefined;
          if (timer) clearTimeout(timer);
          await pass;
        },
      };
    },
  };
}
