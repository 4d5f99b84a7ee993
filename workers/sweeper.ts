import type { IngressService } from '../src/domain/ingress/ingress.service';
import type { Logger } from '../src/lib/logger';

/**
 * Re-drives what a crash or a Redis outage left in Postgres only, every `everyMs` (5 s): inbound
 * messages whose agent job was never enqueued and media never fetched (the ingress), then the
 * `tasks` (composition.ts: number send workers, unindexed documents, idle takeovers, and the
 * reconciler of stuck sends, unanswered conversations, undispatched events and overdue webhook
 * deliveries: src/domain/reconcile). Runs in every worker process; deterministic job ids and
 * claims in Postgres make concurrent sweeps harmless. A pass still running skips the next tick.
 */
export function startSweeper(deps: { ingress: IngressService; logger: Logger; everyMs?: number; tasks?: (() => Promise<unknown>)[] }): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    Promise.all([deps.ingress.redrive(), ...(deps.tasks ?? []).map((t) => t())])
      .catch((e: Error) => deps.logger.warn({ err: { message: e.message } }, 'sweeper could not re-drive (will retry)'))
      .finally(() => {
        running = false;
      });
  }, deps.everyMs ?? 5_000);
  timer.unref();
  return () => clearInterval(timer);
}
