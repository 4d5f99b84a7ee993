import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isEventType, SUBSCRIBABLE_EVENT_TYPES } from '../../domain/events/catalog';
import { withIdempotency, type IdempotencyRepo } from '../../domain/shared/idempotency';
import { listQuerySchema } from '../../domain/shared/pagination';
import { deliveryView, endpointView } from '../../domain/webhooks/webhook-view';
import type { WebhookEndpoint } from '../../domain/webhooks/webhooks.port';
import type { WebhooksService } from '../../domain/webhooks/webhooks.service';
import { errors } from '../../lib/errors';
import { isId } from '../../lib/ids';
import { respondIdempotently } from '../idempotent';
import { principalOf, requireScope } from '../middleware/auth';
import { listOf } from '../serialize';
import { parseInput } from '../validate';

const url = z.string({ message: 'must be a string' }).trim().min(1, { message: 'must not be empty' }).max(2048, { message: 'must be at most 2048 characters' });

/** Event types from the catalog, or ["*"] for all of them; an unknown type is named in the error. */
const events = z
  .array(z.string({ message: 'must be an event type' }), { message: 'must be an array of event types' })
  .min(1, { message: 'must name at least one event type, or "*"' })
  .max(50, { message: 'must name at most 50 event types' })
  .superRefine((types, ctx) => {
    types.forEach((t, i) => {
      if (t === '*') {
        if (types.length > 1) ctx.addIssue({ code: 'custom', path: [i], message: '"*" must be the only entry' });
      } else if (!isEventType(t) || t === 'webhook.test') {
        ctx.addIssue({ code: 'custom', path: [i], message: `unknown event type "${t}"` });
      }
    });
  })
  .meta({
    description: 'Event types of the catalog (their payloads are in the webhooks section), or ["*"] alone for all of them.',
    override: { items: { type: 'string', enum: ['*', ...SUBSCRIBABLE_EVENT_TYPES] } },
  })
  .transform((types) => [...new Set(types)]);

// A custom check: zod's own type error would be reported as "is required" for a present value.
const active = z.custom<boolean>((v) => typeof v === 'boolean', { message: 'must be true or false' }).meta({ override: { type: 'boolean' } });
const description = z.string({ message: 'must be a string' }).trim().max(500, { message: 'must be at most 500 characters' }).nullable();

export const createWebhookBody = z.strictObject({ url, events, description: description.optional(), active: active.optional() });
export const updateWebhookBody = z
  .strictObject({ url: url.optional(), events: events.optional(), description: description.optional(), active: active.optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'must change at least one of url, events, description, active' });

export function webhooksRoutes(deps: { webhooks: WebhooksService; idempotency: IdempotencyRepo }): Router {
  const router = Router();
  const manage = requireScope('webhooks:manage');
  const idOf = (req: Request) => {
    const id = String(req.params.id);
    if (!isId('webhookEndpoint', id)) throw errors.notFound('webhook_endpoint', id);
    return id;
  };

  /** Answers with a secret (shown once) under the Idempotency-Key; replays open the sealed copy. */
  async function respondWithSecret(req: Request, res: Response, path: string, status: number, run: () => Promise<{ endpoint: WebhookEndpoint; secret: string }>) {
    const answer = await withIdempotency(
      deps.idempotency,
      { workspaceId: principalOf(res).workspaceId, key: req.get('idempotency-key'), method: 'POST', path, body: req.body },
      async () => {
        const r = await run();
        return { status, body: { ...endpointView(r.endpoint), secret_enc: deps.webhooks.sealSecret(r.endpoint.id, r.secret) } };
      },
    );
    if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
    const { secret_enc: sealed, ...body } = answer.body as { id: string; secret_enc?: string };
    res.status(answer.status).json(sealed === undefined ? body : { ...body, secret: deps.webhooks.openSecret(body.id, sealed) });
  }

  router.post('/v1/webhooks', manage, async (req, res) => {
    await respondWithSecret(req, res, '/v1/webhooks', 201, async () => {
      const body = parseInput(createWebhookBody, req.body);
      return deps.webhooks.create(principalOf(res).workspaceId, body);
    });
  });

  router.get('/v1/webhooks', manage, async (req, res) => {
    const q = parseInput(listQuerySchema, req.query, 'query');
    const page = await deps.webhooks.list(principalOf(res).workspaceId, { limit: q.limit, startingAfter: q.starting_after });
    res.json(listOf(page.items.map((e) => endpointView(e)), page.hasMore));
  });

  router.get('/v1/webhooks/:id', manage, async (req, res) => {
    res.json(endpointView(await deps.webhooks.get(principalOf(res).workspaceId, idOf(req))));
  });

  router.patch('/v1/webhooks/:id', manage, async (req, res) => {
    const id = idOf(req);
    const body = parseInput(updateWebhookBody, req.body);
    res.json(endpointView(await deps.webhooks.update(principalOf(res).workspaceId, id, body)));
  });

  router.delete('/v1/webhooks/:id', manage, async (req, res) => {
    const e = await deps.webhooks.remove(principalOf(res).workspaceId, idOf(req));
    res.json({ object: 'webhook_endpoint', id: e.id, deleted: true });
  });

  router.post('/v1/webhooks/:id/rotate-secret', manage, async (req, res) => {
    const id = idOf(req);
    await respondWithSecret(req, res, `/v1/webhooks/${id}/rotate-secret`, 200, () => deps.webhooks.rotateSecret(principalOf(res).workspaceId, id));
  });

  router.post('/v1/webhooks/:id/test', manage, async (req, res) => {
    const id = idOf(req);
    await respondIdempotently(deps.idempotency, req, res, `/v1/webhooks/${id}/test`, async () => ({
      status: 202,
      body: deliveryView(await deps.webhooks.sendTest(principalOf(res).workspaceId, id)),
    }));
  });

  router.get('/v1/webhooks/:id/deliveries', manage, async (req, res) => {
    const id = idOf(req);
    const q = parseInput(listQuerySchema, req.query, 'query');
    const page = await deps.webhooks.deliveries(principalOf(res).workspaceId, id, { limit: q.limit, startingAfter: q.starting_after });
    res.json(listOf(page.items.map(deliveryView), page.hasMore));
  });

  router.post('/v1/webhooks/:id/deliveries/:delivery_id/redeliver', manage, async (req, res) => {
    const id = idOf(req);
    const deliveryId = String(req.params.delivery_id);
    if (!isId('webhookDelivery', deliveryId)) throw errors.notFound('webhook_delivery', deliveryId);
    res.status(202).json(deliveryView(await deps.webhooks.redeliver(principalOf(res).workspaceId, id, deliveryId)));
  });

  return router;
}
