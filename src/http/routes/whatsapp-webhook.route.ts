import express, { Router } from 'express';
import { z } from 'zod';
import type { IngressService } from '../../domain/ingress/ingress.service';
import { AppError, isAppError } from '../../lib/errors';
import { MAX_WEBHOOK_BODY, requestSource, type IngressGuard } from '../middleware/ingress-guard';
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
 * One delivery, read: verified, stored and its jobs queued by the ingress, the outcome told to
 * the ingress guard. Throws the AppError to answer with.
 */
export async function deliverWebhook(
  deps: { ingress: IngressService; ingressGuard?: IngressGuard },
  delivery: { raw: Buffer; signature: string | undefined; requestId: string; source: () => string },
): Promise<z.output<typeof ingressResultSchema>> {
  let result;
  try {
    result = await deps.ingress.handle(delivery.raw, delivery.signature, { correlationId: delivery.requestId });
  } catch (e) {
    if (isAppError(e) && e.code === 'invalid_signature') deps.ingressGuard?.settle(delivery.source(), 'rejected');
    throw e;
  }
  if (result.outcome === 'stored') deps.ingressGuard?.settle(delivery.source(), 'verified');
  return { received: true, ...result };
}

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

  const screen: express.RequestHandler = deps.ingressGuard ? deps.ingressGuard.screen : (_req, _res, next) => next();
  // Most deliveries never get here: webhook-fast-path.ts serves them before express. This route
  // serves the rest (a compressed body, which express.raw inflates), the same way.
  router.post('/webhooks/whatsapp', screen, express.raw({ type: () => true, limit: MAX_WEBHOOK_BODY }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = await deliverWebhook(deps, { raw, signature: req.get('x-hub-signature-256'), requestId: requestIdOf(res), source: () => requestSource(req) });
    res.status(200).json(body);
  });

  return router;
}
