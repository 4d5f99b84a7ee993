import { DelayedError, type Worker } from 'bullmq';
import { createWorker, type WorkerDeps } from '../src/adapters/queue/queues';
import { ConversationBusyError, LookAgainError, type AgentService } from '../src/domain/agent/agent.service';

/** A job whose message never became visible (queued before a commit that then failed) stops looking after this. */
export const LOOK_AGAIN_FOR_MS = 30_000;

/**
 * The usual "not committed yet" lasts a millisecond or two: look again in place a few times
 * before paying for a round trip through the delayed set (about 50 ms with Redis's default hz).
 */
async function runLookingAgainBriefly<T>(fn: () => Promise<T>): Promise<T> {
  for (const pause of [2, 5, 10, 20]) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof LookAgainError)) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
  return fn();
}

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
      // Every line of the turn says which job it is and which webhook delivery asked for it.
      const logger = deps.logger.child({ queue: 'agent', job_id: job.id, ...(data.correlationId ? { correlation_id: data.correlationId } : {}) });
      try {
        const r = await runLookingAgainBriefly(() => deps.agent.run(data, { logger }));
        if (r.outcome === 'replied' || r.outcome === 'handoff') logger.info({ conversation_id: data.conversationId, ...r }, 'agent turn');
        else logger.debug({ conversation_id: data.conversationId, ...r }, 'agent turn');
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
