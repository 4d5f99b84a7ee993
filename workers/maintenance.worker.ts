import type { Worker } from 'bullmq';
import { createWorker, type Queues, type WorkerDeps } from '../src/adapters/queue/queues';
import type { MaintenanceRepo } from '../src/adapters/postgres/maintenance.repo';

export const PRUNE_EVERY_MS = 15 * 60_000;

/** Housekeeping on a schedule: drops idempotency keys and orphan statuses past their retention. */
export function createMaintenanceWorker(deps: WorkerDeps & { repo: MaintenanceRepo; syncTemplates?: () => Promise<number>; now?: () => Date }): Worker {
  const now = deps.now ?? (() => new Date());
  return createWorker(
    'maintenance',
    async (data) => {
      if (data.task === 'prune') {
        const at = now();
        const idempotencyKeys = await deps.repo.pruneIdempotencyKeys(at);
        const pendingStatuses = await deps.repo.prunePendingStatuses(at);
        if (idempotencyKeys + pendingStatuses > 0) deps.logger.info({ idempotencyKeys, pendingStatuses }, 'pruned expired rows');
        return { idempotencyKeys, pendingStatuses };
      }
      if (data.task === 'sync_templates' && deps.syncTemplates) {
        return { templates: await deps.syncTemplates() };
      }
      return undefined;
    },
    deps,
  );
}

/** Idempotent: every process may call it; there is one scheduler per id. */
export async function scheduleMaintenance(queues: Queues, templateSyncEveryMs: number): Promise<void> {
  const q = queues.get('maintenance');
  await q.upsertJobScheduler('prune', { every: PRUNE_EVERY_MS }, { name: 'maintenance', data: { task: 'prune' } });
  if (templateSyncEveryMs > 0) {
    await q.upsertJobScheduler('sync_templates', { every: templateSyncEveryMs }, { name: 'maintenance', data: { task: 'sync_templates' } });
  } else {
    await q.removeJobScheduler('sync_templates');
  }
}
