import type { Logger } from '../../lib/logger';
import type { SecretBox } from '../../lib/secret-box';
import { eventView } from '../events/event-stream';
import { retryDelayMs } from './retry-schedule';
import { secretContext } from './webhooks.service';
import type { AttemptOutcome, DeliveryJob, WebhookEndpoint, WebhookSender, WebhooksRepo } from './webhooks.port';

export interface WebhookDeliveryService {
  /** Makes one attempt of a delivery (if it is still due at that attempt) and schedules the next. */
  attempt(job: DeliveryJob): Promise<{ outcome: string }>;
  /** Re-enqueues pending deliveries that are overdue: their job was lost (Redis) or their worker died. */
  sweep(): Promise<number>;
}

export function createWebhookDeliveryService(deps: {
  repo: WebhooksRepo;
  secrets: SecretBox;
  sender: WebhookSender;
  enqueue: (jobs: DeliveryJob[], opts?: { delayMs?: number }) => Promise<void>;
  /** Delays after the 1st, 2nd, ... failed attempt (ms); its length + 1 is the number of attempts. */
  retryScheduleMs: number[];
  timeoutMs: number;
  /** An endpoint failing continuously for this long is disabled. */
  disableAfterMs: number;
  logger: Logger;
  /** How long past due a pending delivery must be before the sweeper assumes its job is lost. */
  sweepGraceMs?: number;
}): WebhookDeliveryService {
  const grace = deps.sweepGraceMs ?? 10_000;

  function signingSecrets(e: WebhookEndpoint, now: Date): string[] {
    const out = [deps.secrets.decrypt(e.secretEnc, secretContext(e.id))];
    // During a rotation's overlap both sign; receivers holding either secret verify.
    if (e.previousSecretEnc && e.previousSecretExpiresAt && e.previousSecretExpiresAt > now) {
      out.push(deps.secrets.decrypt(e.previousSecretEnc, secretContext(e.id)));
    }
    return out;
  }

  return {
    async attempt(job) {
      // The lease covers the request's deadline and the bookkeeping after it.
      const claimed = await deps.repo.claim(job, deps.timeoutMs + 30_000);
      if (!claimed) return { outcome: 'skipped' };
      const { delivery, endpoint, event } = claimed;
      const log = { delivery_id: delivery.id, endpoint_id: endpoint.id, event_id: event.id, attempt: delivery.attempts + 1 };
      if (!endpoint.active) {
        const outcome: AttemptOutcome = { status: 'failed', statusCode: null, latencyMs: 0, excerpt: null, error: 'endpoint disabled', nextAttemptAt: null, failed: null };
        await deps.repo.recordAttempt(job, outcome, { disable: null, failingCutoff: new Date(0) });
        return { outcome: 'endpoint disabled' };
      }
      const now = new Date();
      const body = JSON.stringify(eventView({ ...event, seq: 0, prev: 0 }));
      const result = await deps.sender.send({ url: endpoint.url, id: event.id, body, secrets: signingSecrets(endpoint, now), now });
      const code = result.statusCode;
      const ok = code !== null && code >= 200 && code < 300;
      const gone = code === 410;
      const delay = ok || gone ? null : retryDelayMs(deps.retryScheduleMs, delivery.attempts + 1);
      const outcome: AttemptOutcome = {
        status: ok ? 'succeeded' : gone ? 'failed' : delay === null ? 'exhausted' : 'pending',
        statusCode: code,
        latencyMs: result.latencyMs,
        excerpt: result.excerpt,
        error: result.error ?? (ok ? null : code !== null && code >= 300 && code < 400 ? `redirect (${code}) not followed` : `HTTP ${code}`),
        nextAttemptAt: delay === null ? null : new Date(Date.now() + delay),
        failed: !ok,
      };
      const recorded = await deps.repo.recordAttempt(job, outcome, {
        disable: gone ? 'gone' : null,
        failingCutoff: new Date(Date.now() - deps.disableAfterMs),
      });
      if (!recorded.recorded) return { outcome: 'recorded by another attempt' };
      const level = ok ? 'debug' : 'info';
      deps.logger[level]({ ...log, status: outcome.status, status_code: code, latency_ms: result.latencyMs, error: outcome.error }, 'webhook delivery attempt');
      if (recorded.disabled) deps.logger.warn({ endpoint_id: endpoint.id, reason: gone ? 'gone' : 'failing' }, 'webhook endpoint disabled');
      if (outcome.status === 'pending' && delay !== null) {
        await deps
          .enqueue([{ workspaceId: delivery.workspaceId, deliveryId: delivery.id, attempt: delivery.attempts + 1 }], { delayMs: delay })
          .catch((e: Error) => deps.logger.warn({ ...log, err: { message: e.message } }, 'retry not enqueued (the sweeper will)'));
      }
      return { outcome: outcome.status };
    },

    async sweep() {
      const jobs = await deps.repo.due(new Date(Date.now() - grace), 500);
      if (jobs.length > 0) await deps.enqueue(jobs);
      return jobs.length;
    },
  };
}
