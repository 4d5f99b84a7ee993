import express, { Router } from 'express';
import type { IngressService } from '../../domain/ingress/ingress.service';
import { AppError } from '../../lib/errors';

const CHALLENGE = /^[\x21-\x7e]{1,512}$/;

/**
 * Meta's webhook: GET is the verification handshake, POST the deliveries. The POST body is kept
 * raw (up to 3 MB) because the signature covers the exact bytes Meta sent.
 */
export function whatsappWebhookRoutes(deps: { ingress: IngressService }): Router {
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

  router.post('/webhooks/whatsapp', express.raw({ type: () => true, limit: '3mb' }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await deps.ingress.handle(raw, req.get('x-hub-signature-256'));
    res.status(200).json({ received: true, ...result });
  });

  return router;
}
