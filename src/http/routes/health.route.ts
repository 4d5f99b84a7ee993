import { Router } from 'express';
import { z } from 'zod';

export interface ReadinessCheck {
  ok: boolean;
  error?: string;
  [detail: string]: unknown;
}

/** Each check answers within its own time limit; a failing check names what is failing. */
export type Readiness = () => Promise<Record<string, ReadinessCheck>>;

/** The documented answers of /healthz and /readyz; the OpenAPI document is built from them. */
export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health', description: 'The process is up.' });
export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.record(
      z.string(),
      z.looseObject({ ok: z.boolean(), error: z.string().optional().meta({ description: 'What is failing.' }) }).meta({ description: 'Other details depend on the check.' }),
    ),
  })
  .meta({ id: 'Readiness', description: 'Each dependency (database, Redis, ...) with whether it answers.' });

export function healthRoutes(readiness: Readiness): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    const body: z.output<typeof healthSchema> = { status: 'ok' };
    res.json(body);
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await readiness();
    const ok = Object.values(checks).every((c) => c.ok);
    const body: z.output<typeof readinessSchema> = { status: ok ? 'ready' : 'unavailable', checks };
    res.status(ok ? 200 : 503).json(body);
  });
  return router;
}
