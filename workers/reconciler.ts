import { Queue, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { agentDeduplicationId, agentJobId, agentJobOptions, type AgentDebounce } from '../src/adapters/queue/agent-debounce';
import type { Queues } from '../src/adapters/queue/queues';
import type { JobPresence, ReconcileQueues } from '../src/domain/reconcile/reconcile.port';
import { sendQueueName, type SendJob } from './send.worker';

/** The agent job id the reconciler uses for its `round`-th try at a message (see agent-debounce.ts). */
export const agentRoundSuffix = (round: number) => `rc${round}`;
const agentRoundJobId = (conversationId: string, messageId: string, round: number) => agentJobId({ conversationId, messageId, round: agentRoundSuffix(round) });

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
  /** Where a conversation waits before its agent job exists (agent-debounce.ts). */
  debounce: Pick<AgentDebounce, 'pending'>;
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
      // Waiting out its debounce, the conversation's next job is as good as queued.
      if (await deps.debounce.pending(conversationId)) return true;
      // Every agent job of a conversation is added under one deduplication id (agent-debounce.ts),
      // which points at its waiting or running job until that job finishes.
      const agent = deps.queues.get('agent');
      const id = await agent.getDeduplicationJobId(agentDeduplicationId(conversationId));
      if (!id) return false;
      return presence(await agent.getJobState(id)) === 'live';
    },

    async agentRound(conversationId, messageId, round) {
      return presence(await deps.queues.get('agent').getJobState(agentRoundJobId(conversationId, messageId, round)));
    },

    async enqueueAgentRound(c, round) {
      // Straight into the queue (the customer stopped writing long ago: nothing to debounce), so
      // that agentRound sees the job at once.
      const entry = { workspaceId: c.workspaceId, conversationId: c.conversationId, messageId: c.messageId, round: agentRoundSuffix(round) };
      await deps.queues.add('agent', { workspaceId: c.workspaceId, conversationId: c.conversationId, messageId: c.messageId }, agentJobOptions(entry));
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
