import { z } from 'zod';
import type { WebhookDelivery, WebhookEndpoint } from './webhooks.port';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const isoDate = z.iso.datetime().meta({ example: '2026-11-24T10:00:00.000Z' });

/** The documented shape of `endpointView` (the OpenAPI document is built from it). */
export const webhookEndpointSchema = z
  .object({
    object: z.literal('webhook_endpoint'),
    id: z.string().meta({ example: 'whe_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    url: z.string().meta({ example: 'https://crm.example.com/hooks/whatsapp' }),
    events: z.array(z.string()).meta({ description: 'Event types, or ["*"] for all.', example: ['message.received', 'conversation.handoff_requested'] }),
    description: z.string().nullable(),
    active: z.boolean(),
    disabled_reason: z.string().nullable().meta({ description: 'Why the gateway disabled it: `gone` (it answered 410) or `failing` (it failed for days).' }),
    disabled_at: isoDate.nullable(),
    failing_since: isoDate.nullable(),
    previous_secret_expires_at: isoDate.nullable().meta({ description: 'While a rotated-out secret still signs beside the new one.' }),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'WebhookEndpoint', description: 'A URL that receives signed events (Standard Webhooks). Never shows its secret.' });
export type WebhookEndpointView = z.output<typeof webhookEndpointSchema>;

/** POST /v1/webhooks and POST /v1/webhooks/:id/rotate-secret: the only answers that hold the secret. */
export const webhookEndpointWithSecretSchema = webhookEndpointSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret (Standard Webhooks, whsec_...), shown this once.', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) })
  .meta({ id: 'WebhookEndpointWithSecret', description: 'A webhook endpoint with its signing secret (shown once).' });

/** The public JSON of an endpoint: API responses and webhook.endpoint_disabled. Never a secret. */
export function endpointView(e: WebhookEndpoint, now: Date = new Date()): WebhookEndpointView {
  const overlap = e.previousSecretEnc !== null && e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > now;
  return {
    object: 'webhook_endpoint' as const,
    id: e.id,
    url: e.url,
    events: e.events,
    description: e.description,
    active: e.active,
    disabled_reason: e.disabledReason,
    disabled_at: iso(e.disabledAt),
    failing_since: iso(e.failingSince),
    // While a rotated-out secret still signs beside the new one.
    previous_secret_expires_at: overlap ? iso(e.previousSecretExpiresAt) : null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
  };
}

export const webhookDeliverySchema = z
  .object({
    object: z.literal('webhook_delivery'),
    id: z.string().meta({ example: 'whd_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    endpoint_id: z.string(),
    event_id: z.string().meta({ description: 'Also the `webhook-id` header of every attempt.' }),
    event_type: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed', 'exhausted']),
    attempts: z.number().int(),
    last_attempt: z
      .object({
        at: isoDate,
        status_code: z.number().int().nullable(),
        latency_ms: z.number().nullable(),
        response: z.string().nullable().meta({ description: 'The first KB of what the endpoint answered.' }),
        error: z.string().nullable(),
      })
      .nullable(),
    next_attempt_at: isoDate.nullable(),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'WebhookDelivery', description: 'One event on its way to one endpoint, with its last attempt.' });
export type WebhookDeliveryView = z.output<typeof webhookDeliverySchema>;

export function deliveryView(d: WebhookDelivery): WebhookDeliveryView {
  return {
    object: 'webhook_delivery' as const,
    id: d.id,
    endpoint_id: d.endpointId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    last_attempt:
      d.lastAttemptAt === null
        ? null
        : {
            at: d.lastAttemptAt.toISOString(),
            status_code: d.lastStatusCode,
            latency_ms: d.lastLatencyMs,
            // The first KB of what the endpoint answered.
            response: d.lastResponseExcerpt,
            error: d.lastError,
          },
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}
