import { Router } from 'express';

export interface ReadinessCheck {
  ok: boolean;
  error?: string;
  [detail: string]: unknown;
}

/** Each check answers within its own time limit; a failing check names what is failing. */
export type Readiness = () => Promise<Record<string, ReadinessCheck>>;

export function healthRoutes(readiness: Readiness): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await readiness();
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', checks });
  });
  return router;
}
