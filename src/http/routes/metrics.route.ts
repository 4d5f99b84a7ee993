import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { AppError } from '../../lib/errors';

/** The exposition text of the process's metrics (prom-client's registry in production). */
export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * GET /metrics in Prometheus's text format. With a token (METRICS_TOKEN) the scraper must send
 * `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials: ...}`); without
 * one it is open, and must not be reachable from the internet (or be served on METRICS_PORT).
 */
export function metricsRoutes(deps: { metrics: MetricsSource; token: string | undefined }): Router {
  const router = Router();
  const expected = deps.token === undefined ? undefined : digest(deps.token);
  router.get('/metrics', async (req, res) => {
    if (expected) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
      // Digests have one length, so the comparison takes the same time whatever was sent.
      if (!m || !timingSafeEqual(digest(m[1] as string), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        throw new AppError({
          type: 'authentication_error',
          code: 'invalid_metrics_token',
          status: 401,
          message: 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".',
        });
      }
    }
    const { contentType, body } = await deps.metrics.render();
    res.status(200).setHeader('Cache-Control', 'no-store').type(contentType).send(body);
  });
  return router;
}
