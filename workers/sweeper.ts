import type { IngressService } from '../src/domain/ingress/ingress.service';
import type { Logger } from '../src/lib/logger';

/**
 * Re-drives what a crash or a Redis outage left in Postgres only: inbound messages whose agent
 * job was never enqueued, media never fetched. Runs in every worker process; the deterministic
 * job ids make concurrent sweeps harmless.
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
