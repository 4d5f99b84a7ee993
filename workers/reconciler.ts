import { Queue, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Queues } from '../src/adapters/queue/queues';
import type { Schedulers } from '../src/domain/ingress/ingress.service';
import type { JobPresence, ReconcileQueues } from '../src/domain/reconcile/reconcile.port';
import { sendQueueName, type SendJob } from './send.worker';

/** The agent job id the reconciler uses for its `round`-th try at a message (see schedulers.ts). */
export const agentRoundSuffix = (round: number) => `rc${round}`;
const agentRoundJobId = (conversationId: string, messageId: string, round: number) => `agent-${conversationId}-${messageId}-${agentRoundSuffix(round)}`;

const LIVE: readonly (JobState | 'unknown')[] = ['active', 'waiting', 'waiting-children', 'delayed', 'prioritized'];

function presence(state: JobState | 'unknown' | undefined): JobPresence {
  if (state === undefined || state === 'unknown') return 'missing';
  if (state === 'failed' || state === 'completed') return state;
  return LIVE.includes(state) ? 'live' : 'missing';
}

/**
 * The reconciler's view of the BullMQ queues: which jobs are live, and the ways to run a
 * finished or lost job again. Send queues are per number ("send-<number id>"); their jobs are
 * enqueued through the send workers so that they get the same options as every send job.
 */
export function createReconcileQueues(deps: {
  producer: Redis;
  prefix: string;
  queues: Queues;
  schedulers: Pick<Schedulers, 'agent'>;
  enqueueSend: (numberId: string, job: SendJob) => Promise<void>;
}): ReconcileQueues & { close(): Promise<void> } {
  const sendQueues = new Map<string, Queue>();
  const sendQueue = (numberId: string) => {
    let q = sendQueues.get(numberId);
    if (!q) {
      q = new Queue(sendQueueName(numberId), { connection: deps.producer, prefix: deps.prefix, skipWaitingForReady: true });
      sendQueues.set(numberId, q);
    }
    return q;
  };
  const stateOf = async (job: Job | undefined) => presence(job ? await job.getState() : undefined);

  return {
    async agentJobLive(conversationId) {
      // Every agent job of a conversation is added under one deduplication id (schedulers.ts),
      // which points at its waiting or running job until that job finishes.
      const agent = deps.queues.get('agent');
      const id = await agent.getDeduplicationJobId(`agent-${conversationId}`);
      if (!id) return false;
      return presence(await agent.getJobState(id)) === 'live';
    },

    async agentRound(conversationId, messageId, round) {
      return presence(await deps.queues.get('agent').getJobState(agentRoundJobId(conversationId, messageId, round)));
    },

    async enqueueAgentRound(c, round) {
      await deps.schedulers.agent([{ workspaceId: c.workspaceId, conversationId: c.conversationId, messageId: c.messageId, round: agentRoundSuffix(round) }]);
    },

    async ensureSendJob(m) {
      const job = (await sendQueue(m.numberId).getJob(`send-${m.messageId}`)) as Job | undefined;
      const found = await stateOf(job);
      if (found === 'failed' && job) {
        // Its retries ran out (or it stalled too often) with the row unfinished: run it again,
        // with the wamid it may have remembered, and a fresh count of attempts.
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } else if (found === 'completed' && job) {
        // Finished without finishing the row (it was not visible yet, or it was requeued
        // after): a completed id would block a new job, so it goes, and its data comes back.
        const data = job.data as SendJob;
        await job.remove();
        await deps.enqueueSend(m.numberId, { ...data, workspaceId: m.workspaceId, messageId: m.messageId, recipient: m.recipient });
      } else if (found === 'missing') {
        await deps.enqueueSend(m.numberId, { workspaceId: m.workspaceId, messageId: m.messageId, recipient: m.recipient });
      }
      return found;
    },

    async close() {
      await Promise.all([...sendQueues.values()].map((q) => q.close()));
      sendQueues.clear();
    },
  };
}
