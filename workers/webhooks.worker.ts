import type { JobsOptions, Worker } from 'bullmq';
import { createWorker, type Queues, type WorkerDeps } from '../src/adapters/queue/queues';
import type { WebhookDeliveryService } from '../src/domain/webhooks/webhook-delivery.service';
import type { DeliveryJob } from '../src/domain/webhooks/webhooks.port';

/**
 * Queue "webhooks": one job per delivery attempt. The schedule of retries lives in Postgres
 * (next_attempt_at) and each retry is a new delayed job, so a lost job costs nothing but time:
 * the sweeper re-enqueues overdue pending deliveries under the same deterministic job id.
 * Finished jobs are removed at once so that such an id never blocks a re-enqueue.
 */
const JOB_OPTIONS: JobsOptions = {
  // Only for errors of our own (database down); the endpoint's failures are scheduled above.
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: true,
};

export function webhookJobId(job: DeliveryJob, unique = false): string {
  return `webhook-${job.deliveryId}-${job.attempt}${unique ? `-r${Date.now().toString(36)}` : ''}`;
}

/** Enqueues delivery attempts (optionally delayed; `unique` for a redelivery asked for by a user). */
export function enqueueWebhookJobs(queues: Queues) {
  return async (jobs: DeliveryJob[], opts: { delayMs?: number; unique?: boolean } = {}): Promise<void> => {
    if (jobs.length === 0) return;
    await queues.addBulk(
      'webhooks',
      jobs.map((job) => ({ data: job, opts: { ...JOB_OPTIONS, jobId: webhookJobId(job, opts.unique), delay: opts.delayMs } })),
    );
  };
}

export function createWebhooksWorker(deps: WorkerDeps & { delivery: WebhookDeliveryService; concurrency?: number }): Worker {
  return createWorker('webhooks', (data) => deps.delivery.attempt(data), deps, { concurrency: deps.concurrency ?? 10 });
}
