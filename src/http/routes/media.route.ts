import { Router } from 'express';
import type { MediaRepo, MediaStorage } from '../../domain/media/media.port';
import { AppError, errors } from '../../lib/errors';
import { isId } from '../../lib/ids';
import { principalOf, requireScope } from '../middleware/auth';

/** GET /v1/media/:id streams a stored inbound attachment back (messages:read). */
export function mediaRoutes(deps: { mediaRepo: MediaRepo; storage: MediaStorage }): Router {
  const router = Router();
  router.get('/v1/media/:id', requireScope('messages:read'), async (req, res) => {
    const id = String(req.params.id);
    if (!isId('media', id)) throw errors.notFound('media', id);
    const media = await deps.mediaRepo.get(principalOf(res).workspaceId, id);
    if (!media) throw errors.notFound('media', id);
    if (media.status === 'pending') {
      throw new AppError({ type: 'conflict_error', code: 'media_pending', status: 409, message: 'The media is still being fetched from WhatsApp; try again shortly.' });
    }
    if (media.status === 'failed' || !media.storageKey) {
      throw new AppError({ type: 'not_found_error', code: 'media_unavailable', status: 404, message: `The media could not be fetched from WhatsApp: ${media.error ?? 'unknown error'}` });
    }
    const object = await deps.storage.open(media.storageKey);
    if (!object) throw new AppError({ type: 'not_found_error', code: 'media_unavailable', status: 404, message: 'The stored media is missing from storage.' });
    res.setHeader('Content-Type', media.mimeType ?? 'application/octet-stream');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Disposition', 'attachment');
    if (object.size !== undefined) res.setHeader('Content-Length', String(object.size));
    if (media.sha256) res.setHeader('ETag', `"${media.sha256}"`);
    object.stream.pipe(res);
  });
  return router;
}
