import { DelayedError, type Worker } from 'bullmq';
import { createWorker, type WorkerDeps } from '../src/adapters/queue/queues';
import { ConversationBusyError, LookAgainError, type AgentService } from '../src/domain/agent/agent.service';

/** A job whose message never became visible (its transaction rolled back) stops looking after this. */
export const LOOK_AGAIN_FOR_MS = 30_000;

/**
 * Queue `agent`: one pending job per conversation (see schedulers.ts), answered by the agent
 * service. "Look again shortly" cases (the message's transaction not yet committed, a voice
 * note still downloading, another worker holding the conversation) move the job back to the
 * delayed set for a moment instead of spending one of its retries.
 */
export function createAgentWorker(deps: WorkerDeps & { agent: AgentService; concurrency: number }): Worker {
  return createWorker(
    'agent',
    async (data, job, token) => {
      try {
        const r = await deps.agent.run(data);
        if (r.outcome === 'replied' || r.outcome === 'handoff') deps.logger.info({ conversation_id: data.conversationId, ...r }, 'agent turn');
        return r;
      } catch (e) {
        const lookAgain = e instanceof LookAgainError;
        if ((lookAgain || e instanceof ConversationBusyError) && token) {
          if (lookAgain && Date.now() - job.timestamp > LOOK_AGAIN_FOR_MS) return { outcome: 'gave_up', reason: (e as Error).message };
          await job.moveToDelayed(Date.now() + (lookAgain ? 25 : 500), token);
          throw new DelayedError();
        }
        throw e;
      }
    },
    deps,
    { concurrency: deps.concurrency },
  );
}
