import type { Schedulers } from '../../domain/ingress/ingress.service';
import { errors } from '../../lib/errors';
import type { Queues } from './queues';

/**
 * How the ingress hands work to the queues. Job ids are deterministic, so enqueueing the same
 * thing twice (a Meta retry, the sweeper) is a no-op.
 */
export function createSchedulers(queues: Queues | undefined, opts: { agentDebounceMs: number }): Schedulers {
  const q = () => {
    if (!queues) throw errors.unavailable('Queues are not configured in this process.');
    return queues;
  };
  return {
    async agent(items) {
      if (items.length === 0) return;
      // One job per conversation: the job answers every unanswered message of it.
      const latest = new Map(items.map((i) => [i.conversationId, i]));
      // One round trip for the whole group (the ingress calls this once per group commit, right
      // after the commit, so the messages are visible to the job).
      await q().addBulk(
        'agent',
        [...latest.values()].map((i) => ({
          data: { workspaceId: i.workspaceId, conversationId: i.conversationId, messageId: i.messageId, ...(i.correlationId ? { correlationId: i.correlationId } : {}) },
          opts: {
            jobId: `agent-${i.conversationId}-${i.messageId}${i.round ? `-${i.round}` : ''}`,
            delay: opts.agentDebounceMs,
            // At most one waiting and one running job per conversation: messages that arrive
            // while the agent works get a follow-up job instead of being missed.
            // `reschedule` makes it a debounce: each new message pushes the waiting job back by
            // the debounce, so a burst gets one answer after the customer pauses.
            deduplication: { id: `agent-${i.conversationId}`, keepLastIfActive: true, reschedule: true },
          },
        })),
      );
    },
    async media(items) {
      await Promise.all(items.map((i) => q().add('media', i, { jobId: `media-${i.mediaId}` })));
    },
    async receipts(items) {
      await Promise.all(items.map((i) => q().add('receipts', i, { jobId: `receipt-${i.phoneNumberId}-${i.wamid}`.replace(/[:]/g, '_') })));
    },
  };
}
