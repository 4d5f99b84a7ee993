import { UnrecoverableError, type Worker } from 'bullmq';
import { createWorker, type WorkerDeps } from '../src/adapters/queue/queues';
import type { GraphClient } from '../src/adapters/whatsapp/graph-api.client';
import { GraphApiError } from '../src/domain/whatsapp/graph-errors';
import type { TenancyService } from '../src/domain/tenancy/tenancy.service';

/** Marks inbound messages as read on WhatsApp (READ_RECEIPTS=on_receipt). */
export function createReceiptsWorker(
  deps: WorkerDeps & { graph: GraphClient; tenancy: Pick<TenancyService, 'credentials' | 'listNumbers'> },
): Worker {
  return createWorker(
    'receipts',
    async (data) => {
      const number = (await deps.tenancy.listNumbers(data.workspaceId)).find((n) => n.id === data.phoneNumberId);
      if (!number) return { skipped: 'number gone' };
      const { accessToken } = await deps.tenancy.credentials(number);
      try {
        await deps.graph.markRead(accessToken, number.phoneNumberId, data.wamid);
      } catch (e) {
        if (e instanceof GraphApiError && !e.retryable) throw new UnrecoverableError(e.message);
        throw e;
      }
      return { read: true };
    },
    deps,
    { concurrency: 4 },
  );
}
