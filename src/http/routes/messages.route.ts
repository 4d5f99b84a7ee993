import { Router } from 'express';
import { z } from 'zod';
import { messageView } from '../../domain/messages/message-view';
import type { OutboundService } from '../../domain/messages/outbound.service';
import { outboundMessageSchema } from '../../domain/messages/outbound.schema';
import type { IdempotencyRepo } from '../../domain/shared/idempotency';
import { respondIdempotently } from '../idempotent';
import { listQuerySchema } from '../../domain/shared/pagination';
import { errors } from '../../lib/errors';
import { principalOf, requireScope } from '../middleware/auth';
import { requestIdOf } from '../middleware/request-id';
import { listOf } from '../serialize';
import { parseInput } from '../validate';

export const listMessagesQuery = listQuerySchema.extend({
  conversation_id: z.string().max(100).optional(),
  status: z.enum(['received', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled']).optional(),
  direction: z.enum(['in', 'out']).optional(),
});

export const contactWindowQuery = z.strictObject({ from: z.string().min(1).max(64).optional().meta({ description: "The number to check: our id or Meta's phone_number_id (optional with one number)." }) });

/** POST /v1/messages, GET /v1/messages[/:id], and the 24-hour window of a contact or conversation. */
export function messagesRoutes(deps: { outbound: OutboundService; idempotency: IdempotencyRepo }): Router {
  const router = Router();

  router.post('/v1/messages', requireScope('messages:send'), async (req, res) => {
    await respondIdempotently(deps.idempotency, req, res, '/v1/messages', async () => {
      const msg = parseInput(outboundMessageSchema, req.body);
      // The request id follows the message onto its send job (correlation_id on its log lines).
      return { status: 202, body: messageView(await deps.outbound.submit(principalOf(res), msg, undefined, { correlationId: requestIdOf(res) })) };
    });
  });

  router.get('/v1/messages', requireScope('messages:read'), async (req, res) => {
    const q = parseInput(listMessagesQuery, req.query, 'query');
    const page = await deps.outbound.list(
      principalOf(res).workspaceId,
      { conversationId: q.conversation_id, status: q.status, direction: q.direction },
      { limit: q.limit, startingAfter: q.starting_after },
    );
    res.json(listOf(page.items.map(messageView), page.hasMore));
  });

  router.get('/v1/messages/:id', requireScope('messages:read'), async (req, res) => {
    res.json(messageView(await deps.outbound.get(principalOf(res).workspaceId, String(req.params.id))));
  });

  router.get('/v1/conversations/:id/window', requireScope('conversations:read'), async (req, res) => {
    res.json(await deps.outbound.conversationWindow(principalOf(res).workspaceId, String(req.params.id)));
  });

  router.get('/v1/contacts/:wa_id/window', requireScope('messages:read'), async (req, res) => {
    const waId = String(req.params.wa_id);
    const q = parseInput(contactWindowQuery, req.query, 'query');
    if (!/^\+?[1-9]\d{6,14}$/.test(waId)) throw errors.invalidRequest('wa_id must be a phone number, like 16505551234', 'wa_id');
    res.json(await deps.outbound.contactWindow(principalOf(res).workspaceId, waId, q.from));
  });

  return router;
}
