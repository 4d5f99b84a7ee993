import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../../lib/logger';

/**
 * The one owner of queue names, job payload schemas and job defaults. Producers enqueue through
 * `Queues.add`, which validates the payload; workers get payloads validated the same way, and a
 * payload that does not parse fails at once (UnrecoverableError) instead of retrying forever.
 */
export const jobSchemas = {
  /** Housekeeping: expired idempotency keys and the like. */
  maintenance: z.object({ task: z.enum(['prune', 'sync_templates']) }),
  /** Answer a conversation's unanswered inbound messages (one pending job per conversation). */
  agent: z.object({
    workspaceId: z.string(),
    conversationId: z.string(),
    messageId: z.string().optional(),
    /** The request id of the webhook delivery that queued it: on every log line of the turn and on its send jobs. */
    correlationId: z.string().max(128).optional(),
  }),
  /** Split, embed and index one version of a knowledge document. */
  knowledge: z.object({ workspaceId: z.string(), documentId: z.string(), version: z.number().int().min(1) }),
  /** Fetch an inbound message's media from Meta and store it. */
  media: z.object({ workspaceId: z.string(), mediaId: z.string(), messageId: z.string(), phoneNumberId: z.string() }),
  /** Mark inbound messages as read on WhatsApp (blue ticks). */
  receipts: z.object({ workspaceId: z.string(), phoneNumberId: z.string(), wamid: z.string() }),
  /** One attempt of a webhook delivery; `attempt` is how many attempts it had when enqueued. */
  webhooks: z.object({ workspaceId: z.string(), deliveryId: z.string(), attempt: z.number().int().min(0) }),
} as const;

export type QueueName = keyof typeof jobSchemas;
export type JobData<N extends QueueName> = z.infer<(typeof jobSchemas)[N]>;
export const QUEUE_NAMES = Object.keys(jobSchemas) as QueueName[];

/**
 * Retried jobs back off exponentially (1 s, 2 s, 4 s, ...). Finished jobs are kept for a while for
 * inspection and then removed, so Redis does not grow forever.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};

export interface Queues {
  add<N extends QueueName>(name: N, data: JobData<N>, opts?: JobsOptions): Promise<Job>;
  /** Several jobs in one round trip to Redis. */
  addBulk<N extends QueueName>(name: N, jobs: { data: JobData<N>; opts?: JobsOptions }[]): Promise<Job[]>;
  get(name: QueueName): Queue;
  close(): Promise<void>;
}

export function createQueues(deps: { connection: Redis; prefix: string }): Queues {
  const queues = new Map<QueueName, Queue>();
  const get = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: deps.connection,
        prefix: deps.prefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
        // Producers must fail fast when Redis is down (the caller answers 503).
        skipWaitingForReady: true,
      });
      queues.set(name, q);
    }
    return q;
  };
  return {
    get,
    async add(name, data, opts) {
      const parsed = jobSchemas[name].parse(data);
      return get(name).add(name, parsed, opts);
    },
    async addBulk(name, jobs) {
      const parsed = jobs.map((j) => ({ name, data: jobSchemas[name].parse(j.data), opts: j.opts }));
      return get(name).addBulk(parsed);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}

export interface WorkerDeps {
  /** A connection made with createRedis(url, 'worker'). */
  connection: Redis;
  prefix: string;
  logger: Logger;
}

export function createWorker<N extends QueueName>(
  name: N,
  handler: (data: JobData<N>, job: Job, token: string | undefined) => Promise<unknown>,
  deps: WorkerDeps,
  opts: { concurrency?: number } = {},
): Worker {
  const processor: Processor = async (job, token) => {
    const parsed = jobSchemas[name].safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid ${name} job payload: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    }
    return handler(parsed.data as JobData<N>, job, token);
  };
  const worker = new Worker(name, processor, {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: opts.concurrency ?? 1,
    autorun: false,
  });
  worker.on('failed', (job, err) => {
    if (err.name === 'DelayedError') return;
    const correlationId = (job?.data as { correlationId?: unknown } | undefined)?.correlationId;
    deps.logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err, ...(typeof correlationId === 'string' ? { correlation_id: correlationId } : {}) }, 'job failed');
  });
  worker.on('error', (err) => deps.logger.error({ queue: name, err }, 'worker error'));
  return worker;
}
