import { createHash } from 'node:crypto';
import { UnrecoverableError, type Worker } from 'bullmq';
import { createWorker, type WorkerDeps } from '../src/adapters/queue/queues';
import type { GraphClient } from '../src/adapters/whatsapp/graph-api.client';
import { GraphApiError } from '../src/domain/whatsapp/graph-errors';
import type { MediaRepo, MediaStorage } from '../src/domain/media/media.port';
import type { TenancyService } from '../src/domain/tenancy/tenancy.service';

/**
 * Fetches an inbound message's media from Meta and stores it. Meta's download URL lives 5
 * minutes and media ids 7 days, so this runs right after the webhook; a stale URL (404) is
 * looked up afresh. The bytes are checked against Meta's sha256 and size before they are kept.
 */
export function createMediaWorker(
  deps: WorkerDeps & { repo: MediaRepo; storage: MediaStorage; graph: GraphClient; tenancy: Pick<TenancyService, 'credentials'> },
): Worker {
  return createWorker(
    'media',
    async (data, job) => {
      const media = await deps.repo.get(data.workspaceId, data.mediaId);
      if (!media || media.status !== 'pending') return { skipped: true };
      const { accessToken } = await deps.tenancy.credentials({ id: media.phoneNumberId, workspaceId: media.workspaceId });
      try {
        let lastError: unknown;
        for (let attempt = 0; attempt < 3; attempt++) {
          const info = await deps.graph.getMediaInfo(accessToken, media.metaMediaId, media.metaPhoneNumberId);
          let body;
          try {
            body = await deps.graph.downloadMedia(accessToken, info.url);
          } catch (e) {
            // An expired URL: ask Meta for a fresh one.
            if (e instanceof GraphApiError && (e.httpStatus === 404 || e.httpStatus === 403)) {
              lastError = e;
              continue;
            }
            throw e;
          }
          const hex = createHash('sha256').update(body.data).digest('hex');
          const b64 = Buffer.from(hex, 'hex').toString('base64');
          const expected = info.sha256 ?? media.sha256 ?? undefined;
          if (expected && expected !== hex && expected !== b64) {
            throw new Error(`media ${media.id}: sha256 mismatch (got ${hex})`);
          }
          if (info.file_size !== undefined && Number(info.file_size) !== body.data.length) {
            throw new Error(`media ${media.id}: size mismatch (${body.data.length} bytes, Meta said ${info.file_size})`);
          }
          const mimeType = info.mime_type ?? media.mimeType ?? body.contentType ?? 'application/octet-stream';
          const key = `${media.workspaceId}/${media.id}`;
          await deps.storage.put(key, body.data, mimeType);
          await deps.repo.markStored(media.id, { storage: deps.storage.kind, key, mimeType, sha256: hex, size: body.data.length });
          return { stored: body.data.length };
        }
        throw lastError;
      } catch (e) {
        if (e instanceof GraphApiError && !e.retryable) {
          await deps.repo.markFailed(media.id, e.message);
          throw new UnrecoverableError(e.message);
        }
        if ((job.attemptsMade ?? 0) + 1 >= (job.opts.attempts ?? 1)) {
          await deps.repo.markFailed(media.id, (e as Error).message);
        }
        throw e;
      }
    },
    deps,
    { concurrency: 4 },
  );
}
