import type { Schedulers } from '../../domain/ingress/ingress.service';
import { errors } from '../../lib/errors';
import type { AgentDebounce } from './agent-debounce';
import type { Queues } from './queues';

/**
 * How the ingress hands work to the queues. Job ids are deterministic, so enqueueing the same
 * thing twice (a Meta retry, the sweeper) is a no-op. The agent's jobs go through its debounce.
 */
export function createSchedulers(queues: Queues | undefined, debounce: AgentDebounce | undefined): Schedulers {
  const unavailable = () => errors.unavailable('Queues are not configured in this process.');
  const q = () => {
    if (!queues) throw unavailable();
    return queues;
  };
  return {
    async agent(items) {
      if (items.length === 0) return;
      if (!debounce) throw unavailable();
      // One pending answer per conversation, due after the debounce (agent-debounce.ts): one
      // round trip for the whole group (the ingress calls this once per group commit, right after
      // the commit, so the messages are visible to the job).
      await debounce.schedule(items);
    },
    async media(items) {
      await Promise.all(items.map((i) => q().add('media', i, { jobId: `media-${i.mediaId}` })));
    },
    async receipts(items) {
      await Promise.all(items.map((i) => q().add('receipts', i, { jobId: `receipt-${i.phoneNumberId}-${i.wamid}`.replace(/[:]/g, '_') })));
    },
  };
}
