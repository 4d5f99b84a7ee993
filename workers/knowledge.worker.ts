import type { Worker } from 'bullmq';
import { DEFAULT_JOB_OPTIONS, createWorker, type WorkerDeps } from '../src/adapters/queue/queues';
import type { KnowledgeService } from '../src/domain/knowledge/knowledge.service';

/** Queue `knowledge`: split, embed and index one version of a document. */
export function createKnowledgeWorker(deps: WorkerDeps & { knowledge: KnowledgeService }): Worker {
  return createWorker(
    'knowledge',
    async (data, job) => {
      try {
        return await deps.knowledge.index(data);
      } catch (e) {
        // The document shows why it is not searchable once the retries are spent.
        if (job.attemptsMade + 1 >= (job.opts.attempts ?? DEFAULT_JOB_OPTIONS.attempts ?? 1)) {
          await deps.knowledge.markFailed(data, (e as Error).message);
        }
        throw e;
      }
    },
    deps,
    { concurrency: 2 },
  );
}
