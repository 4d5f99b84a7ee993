import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { DEFAULT_JOB_OPTIONS } from '../src/adapters/queue/queues';
import { createRateGate, PACE_MARGIN } from '../src/adapters/queue/rate-gate';
import { RetryableSendError, type SendService } from '../src/domain/messages/send.service';
import type { SendRepo } from '../src/domain/messages/send.port';
import type { PhoneNumber } from '../src/domain/tenancy/tenancy.service';
import type { Logger } from '../src/lib/logger';

/**
 * The send pipeline: one BullMQ queue per number ("send-<number id>"), drained by a worker paced
 * by a Redis rate gate at that number's messages per second (shared by all worker processes). Meta's pair limit (131056) delays only the
 * recipient it concerns: a per-recipient "not before" time in Redis, honoured by every job.
 */
export const sendJobSchema = z.object({
  workspaceId: z.string(),
  messageId: z.string(),
  recipient: z.string(),
  /** Set once Meta accepted the message, before the row records it (see send.service.ts). */
  wamid: z.string().optional(),
  /** The request id of the webhook delivery whose answer this is (agent replies): on the job's log lines. */
  correlationId: z.string().max(128).optional(),
});
export type SendJob = z.infer<typeof sendJobSchema>;

export const sendQueueName = (numberId: string) => `send-${numberId}`;
export const SEND_ATTEMPTS = 8;

export interface SendWorkers {
  /** Starts a worker for every number that has none, and adjusts nothing else. */
  sync(numbers: PhoneNumber[]): void;
  enqueue(numberId: string, job: SendJob): Promise<void>;
  close(force?: boolean): Promise<void>;
}

export function createSendWorkers(deps: {
  producer: Redis;
  workerConnection: Redis;
  prefix: string;
  service: SendService;
  repo: Pick<SendRepo, 'markFailed'>;
  logger: Logger;
  /** Run workers in this process (false: only enqueue). */
  consume: boolean;
  /** Called with each worker started (metrics). */
  onWorker?: (worker: Worker) => void;
}): SendWorkers {
  const queues = new Map<string, Queue>();
  const workers = new Map<string, Worker>();
  const pairKey = (numberId: string, recipient: string) => `${deps.prefix}:pair:${numberId}:${recipient}`;

  const queue = (numberId: string) => {
    let q = queues.get(numberId);
    if (!q) {
      q = new Queue(sendQueueName(numberId), {
        connection: deps.producer,
        prefix: deps.prefix,
        defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, attempts: SEND_ATTEMPTS, backoff: { type: 'exponential', delay: 2_000 } },
        skipWaitingForReady: true,
      });
      queues.set(numberId, q);
    }
    return q;
  };

  const gate = createRateGate(deps.producer, deps.prefix);

  const processor = (numberId: string, mps: number) => async (job: Job, token?: string) => {
    const parsed = sendJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid send job payload');
    const data = parsed.data;
    const logger = deps.logger.child({ queue: job.queueName, job_id: job.id, ...(data.correlationId ? { correlation_id: data.correlationId } : {}) });
    const key = pairKey(numberId, data.recipient);
    // The recipient's pause (131056) and the number's pace, in one round trip: a paused
    // recipient takes no slot. Then wait for this message's slot (short waits in place, long
    // ones delayed).
    const slot = await gate.reserveUnlessHeld(numberId, mps, key);
    let wait: number;
    if ('heldUntil' in slot) {
      if (slot.heldUntil > Date.now()) {
        await job.moveToDelayed(slot.heldUntil, token);
        throw new DelayedError();
      }
      wait = await gate.reserve(numberId, mps);
    } else {
      wait = slot.wait;
    }
    if (wait > 2_000) {
      await job.moveToDelayed(Date.now() + wait, token);
      throw new DelayedError();
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      const result = await deps.service.send(data.messageId, {
        logger,
        rememberedWamid: data.wamid,
        remember: async (wamid) => job.updateData({ ...data, wamid }),
        // Calls can leave a little after their slots; this keeps every sliding second at or
        // under the limit whatever the delays (see rate-gate.ts).
        beforeCall: () => gate.admit(numberId, Math.max(1, Math.floor(mps / PACE_MARGIN)), `${data.messageId}:${job.attemptsMade}`),
      });
      if (result.outcome === 'pair_rate_limited') {
        const until = Date.now() + result.delayMs;
        await deps.producer.set(key, String(until), 'PX', result.delayMs);
        await job.moveToDelayed(until, token);
        throw new DelayedError();
      }
      logger.debug({ message_id: data.messageId, outcome: result.outcome }, 'send job done');
      return result;
    } catch (e) {
      if (e instanceof RetryableSendError && job.attemptsMade + 1 >= (job.opts.attempts ?? SEND_ATTEMPTS)) {
        await deps.repo.markFailed(data.messageId, { code: null, title: 'retries_exhausted', details: e.message }, false);
      }
      throw e;
    }
  };

  return {
    sync(numbers) {
      if (!deps.consume) return;
      for (const n of numbers) {
        if (workers.has(n.id)) continue;
        const w = new Worker(sendQueueName(n.id), processor(n.id, n.messagesPerSecond), {
          connection: deps.workerConnection,
          prefix: deps.prefix,
          // Enough jobs in flight to keep the paced slots filled at ~125 ms per send, and no more:
          // jobs beyond that only wait, and crowd the process.
          concurrency: Math.max(2, Math.min(125, Math.ceil(n.messagesPerSecond / 8))),
        });
        w.on('failed', (job, err) => {
          const correlationId = (job?.data as { correlationId?: unknown } | undefined)?.correlationId;
          deps.logger.warn({ queue: w.name, jobId: job?.id, err: { message: err.message }, ...(typeof correlationId === 'string' ? { correlation_id: correlationId } : {}) }, 'send job failed');
        });
        w.on('error', (err) => deps.logger.error({ queue: w.name, err }, 'send worker error'));
        workers.set(n.id, w);
        deps.onWorker?.(w);
      }
    },
    async enqueue(numberId, job) {
      await queue(numberId).add('send', sendJobSchema.parse(job), { jobId: `send-${job.messageId}` });
    },
    async close(force = false) {
      await Promise.all([...workers.values()].map((w) => w.close(force)));
      await Promise.all([...queues.values()].map((q) => q.close()));
      workers.clear();
      queues.clear();
    },
  };
}
