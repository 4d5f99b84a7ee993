import express, { Router, type ErrorRequestHandler, type Request } from 'express';
import type { Logger } from '../../lib/logger';
import type { GraphApi } from './graph-api';
import { MetaError } from './meta-errors';

/**
 * The simulator's Graph API over HTTP, mounted by the gateway at /sandbox/graph: the gateway's
 * own Graph client calls `<gateway>/sandbox/graph/v23.0/...` for sandbox numbers and test keys
 * exactly as it calls https://graph.facebook.com/v23.0/... for real ones. Every error, including
 * an unreadable body or an unknown path, is answered in Meta's shape, never in the gateway's.
 */
export const GRAPH_MOUNT = '/sandbox/graph';

const VERSION = /^v\d{1,2}\.\d$/;

function bearer(req: Request): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  return m?.[1];
}

function version(req: Request): string {
  const v = String(req.params.version);
  if (!VERSION.test(v)) throw new MetaError(2500, { message: `Unknown path components: /${v}`, details: 'Unknown API version.' });
  return v;
}

/** multipart/form-data as Meta's media upload takes it (messaging_product, file, type). */
async function readForm(req: Request) {
  const type = req.get('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(type) || !Buffer.isBuffer(req.body)) {
    throw new MetaError(100, { details: 'Media uploads are multipart/form-data with the fields messaging_product and file.' });
  }
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(req.body), { headers: { 'content-type': type } }).formData();
  } catch {
    throw new MetaError(100, { details: 'The multipart/form-data body could not be read.' });
  }
  const file = form.get('file');
  const declared = form.get('type');
  return {
    messagingProduct: form.get('messaging_product') ?? undefined,
    file:
      file && typeof file !== 'string'
        ? { data: Buffer.from(await file.arrayBuffer()), type: typeof declared === 'string' && declared ? declared : file.type, name: file.name || null }
        : null,
  };
}

export function graphRouter(deps: { graph: GraphApi; logger: Logger }): Router {
  const router = Router();
  const json = express.json({ limit: '3mb', type: () => true, strict: true });

  router.post('/:version/:phoneNumberId/messages', json, async (req, res) => {
    const body = await deps.graph.messages(String(req.params.phoneNumberId), bearer(req), req.body, version(req));
    res.json(body);
  });

  router.post('/:version/:phoneNumberId/media', express.raw({ type: () => true, limit: '101mb' }), async (req, res) => {
    version(req);
    res.json(await deps.graph.upload(String(req.params.phoneNumberId), bearer(req), await readForm(req)));
  });

  router.get('/:version/:wabaId/message_templates', async (req, res) => {
    version(req);
    const q = req.query as Record<string, unknown>;
    const pick = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
    res.json(await deps.graph.templates(String(req.params.wabaId), bearer(req), { limit: pick('limit'), after: pick('after'), status: pick('status'), name: pick('name') }));
  });

  // Media download URLs (Meta's lookaside.fbsbx.com): valid 5 minutes, with the bearer token.
  router.get('/lookaside/:token', async (req, res) => {
    const media = await deps.graph.download(String(req.params.token), bearer(req));
    if (!media) {
      res.status(404).type('text/plain').send('URL signature expired');
      return;
    }
    res.set('Cache-Control', 'no-store').type(media.mimeType).send(media.data);
  });

  router.get('/:version/:mediaId', async (req, res) => {
    version(req);
    const pnid = typeof req.query.phone_number_id === 'string' ? req.query.phone_number_id : undefined;
    res.json(await deps.graph.mediaInfo(String(req.params.mediaId), bearer(req), pnid));
  });

  router.delete('/:version/:mediaId', async (req, res) => {
    version(req);
    res.json(await deps.graph.deleteMedia(String(req.params.mediaId), bearer(req)));
  });

  router.use((req) => {
    throw new MetaError(2500, { message: `Unknown path components: ${req.path}`, details: 'Unknown path.' });
  });

  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    let e: MetaError;
    if (err instanceof MetaError) e = err;
    else if ((err as { type?: string }).type === 'entity.parse.failed') e = new MetaError(100, { details: 'The request body is not valid JSON.' });
    else if ((err as { type?: string }).type === 'entity.too.large') e = new MetaError(100, { details: 'The request body is too large.' });
    else {
      deps.logger.error({ err }, 'sandbox: the Cloud API simulator failed');
      e = new MetaError(1);
    }
    if (e.status === 401) res.set('WWW-Authenticate', 'OAuth "Facebook Platform" "invalid_token"');
    res.status(e.status).json(e.toBody());
  };
  router.use(onError);
  return router;
}
