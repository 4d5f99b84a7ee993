import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { agentDebounceKeys } from '../queue/agent-debounce';

/** One queue's figures at one moment. */
export interface QueueSnapshot {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Seconds the oldest waiting job has been ready to run; null when none waits. */
  oldestWaitingSeconds: number | null;
}

export type QueueStatsSource = () => Promise<QueueSnapshot[]>;

/**
 * Queue depths are read from Redis when Prometheus scrapes, not on every job: one read is
 * shared by the gauges of a scrape and cached for `cacheMs`. A scrape never waits more than
 * `timeoutMs` for Redis: it then reports the last figures it has and gateway_queue_stats_up 0,
 * so a slow or absent Redis cannot hang the scrape (the read keeps going and fills the cache).
 */
export function registerQueueStats(
  registry: Registry,
  source: QueueStatsSource,
  opts: { cacheMs?: number; timeoutMs?: number; now?: () => number } = {},
): void {
  const cacheMs = opts.cacheMs ?? 5_000;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const now = opts.now ?? Date.now;
  let last: { at: number; data: QueueSnapshot[] } | undefined;
  let reading: Promise<boolean> | undefined;
  let round: Promise<{ fresh: boolean }> | undefined;

  const read = () =>
    (reading ??= source()
      .then((data) => {
        last = { at: now(), data };
        return true;
      })
      .catch(() => false)
      .finally(() => {
        reading = undefined;
      }));

  async function scrape(): Promise<{ fresh: boolean }> {
    if (last && now() - last.at < cacheMs) return { fresh: true };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      return { fresh: await Promise.race([read(), timeout]) };
    } finally {
      clearTimeout(timer);
    }
  }

  // The gauges of one scrape are collected concurrently: they share one round.
  const current = () => {
    round ??= scrape().finally(() => {
      round = undefined;
    });
    return round;
  };

  const jobs: Gauge<'queue' | 'state'> = new Gauge({
    name: 'gateway_queue_jobs',
    help: 'Jobs per BullMQ queue and state (waiting, active, delayed, failed), read from Redis at scrape time; the agent\'s delayed jobs include the conversations waiting out their debounce. Every process reports the same figures: aggregate with max, not sum.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      await current();
      jobs.reset();
      for (const q of last?.data ?? []) {
        jobs.set({ queue: q.queue, state: 'waiting' }, q.waiting);
        jobs.set({ queue: q.queue, state: 'active' }, q.active);
        jobs.set({ queue: q.queue, state: 'delayed' }, q.delayed);
        jobs.set({ queue: q.queue, state: 'failed' }, q.failed);
      }
    },
  });
  const oldest: Gauge<'queue'> = new Gauge({
    name: 'gateway_queue_oldest_waiting_job_age_seconds',
    help: 'How long the oldest waiting job of each queue has been ready to run (0 when none waits), in seconds.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      await current();
      oldest.reset();
      for (const q of last?.data ?? []) oldest.set({ queue: q.queue }, q.oldestWaitingSeconds ?? 0);
    },
  });
  const up: Gauge = new Gauge({
    name: 'gateway_queue_stats_up',
    help: '1 when this scrape read the queue figures from Redis in time, 0 when they are older (Redis slow or down).',
    registers: [registry],
    async collect() {
      up.set((await current()).fresh ? 1 : 0);
    },
  });
  const age: Gauge = new Gauge({
    name: 'gateway_queue_stats_age_seconds',
    help: 'Age of the queue figures reported (-1 before the first successful read), in seconds.',
    registers: [registry],
    async collect() {
      await current();
      age.set(last ? Math.max(0, (now() - last.at) / 1000) : -1);
    },
  });
}

/**
 * Reads the figures of BullMQ queues (the fixed ones and each number's send queue) through
 * BullMQ's own scripts, with one Queue object per name kept for reuse.
 */
export function createBullmqQueueSource(deps: {
  connection: Redis;
  prefix: string;
  queueNames: () => Promise<string[]>;
  now?: () => number;
}): { read: QueueStatsSource; close(): Promise<void> } {
  const now = deps.now ?? Date.now;
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: deps.connection, prefix: deps.prefix, skipWaitingForReady: true });
      queues.set(name, q);
    }
    return q;
  };

  async function one(name: string): Promise<QueueSnapshot> {
    const q = queue(name);
    const [counts, head, debouncing] = await Promise.all([
      q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
      // The oldest job of the wait list (a paused queue keeps its jobs there too).
      q.getJobs(['waiting'], 0, 0, true),
      // The agent's next jobs wait out their debounce before they are in the queue: delayed too.
      name === 'agent' ? deps.connection.zcard(agentDebounceKeys(deps.prefix).due) : 0,
    ]);
    // Ready since it was created plus its initial delay, or since its last attempt.
    const readySince = head.map((j) => Math.max(j.timestamp + (j.opts.delay ?? 0), j.processedOn ?? 0));
    const oldestReady = readySince.length ? Math.min(...readySince) : undefined;
    return {
      queue: name,
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: (counts.delayed ?? 0) + debouncing,
      failed: counts.failed ?? 0,
      oldestWaitingSeconds: oldestReady === undefined ? null : Math.max(0, (now() - oldestReady) / 1000),
    };
  }

  return {
    async read() {
      return Promise.all((await deps.queueNames()).map(one));
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
      queues.clear();
    },
  };
}
