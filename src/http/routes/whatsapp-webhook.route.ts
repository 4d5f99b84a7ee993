import express, { Router } from 'express';
import { z } from 'zod';
import type { IngressService } from '../../domain/ingress/ingress.service';
import { AppError, isAppError } from '../../lib/errors';
import { MAX_WEBHOOK_BODY, type IngressGuard } from '../middleware/ingress-guard';
import { requestIdOf } from '../middleware/request-id';

const CHALLENGE = /^[\x21-\x7e]{1,512}$/;

/** The documented answer to Meta's POST; the OpenAPI document is built from it. */
export const ingressResultSchema = z
  .object({
    received: z.literal(true),
    outcome: z.enum(['stored', 'ignored']),
    stored: z.number().int().meta({ description: 'Messages stored.' }),
    duplicates: z.number().int().meta({ description: 'Messages already stored (Meta retried).' }),
    statuses: z.number().int().meta({ description: 'Status updates applied.' }),
  })
  .meta({ id: 'IngressResult', description: 'The delivery is durable in the database.' });

/**
 * Meta's webhook: GET is the verification handshake, POST the deliveries. The POST body is kept
 * raw (up to 3 MB) because the signature covers the exact bytes Meta sent.
 */
export function whatsappWebhookRoutes(deps: { ingress: IngressService; ingressGuard?: IngressGuard }): Router {
  const router = Router();

  router.get('/webhooks/whatsapp', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const challenge = q['hub.challenge'];
    if ((await deps.ingress.verifyToken(q['hub.mode'], q['hub.verify_token'])) && typeof challenge === 'string' && CHALLENGE.test(challenge)) {
      res.status(200).type('text/plain').set('X-Content-Type-Options', 'nosniff').send(challenge);
      return;
    }
    throw new AppError({
      type: 'permission_error',
      code: 'verification_failed',
      status: 403,
      message: 'hub.mode must be subscribe and hub.verify_token must match a number\'s verify token.',
    });
  });

  const guard = deps.ingressGuard;
  const screen: express.RequestHandler = guard ? guard.screen : (_req, _res, next) => next();
  router.post('/webhooks/whatsapp', screen, express.raw({ type: () => true, limit: MAX_WEBHOOK_BODY }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let result;
    try {
      result = await deps.ingress.handle(raw, req.get('x-hub-signature-256'), { correlationId: requestIdOf(res) });
    } catch (e) {
      if (isAppError(e) && e.code === 'invalid_signature') guard?.settle(req, 'rejected');
      throw e;
    }
    if (result.outcome === 'stored') guard?.settle(req, 'verified');
    const body: z.output<typeof ingressResultSchema> = { received: true, ...result };
    res.status(200).json(body);
  });

  return router;
}
