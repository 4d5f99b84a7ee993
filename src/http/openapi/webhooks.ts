import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { EVENT_TYPES, eventCatalog, type EventType } from '../../domain/events/catalog';
import { eventSchema } from '../../domain/events/event-stream';

/**
 * The OpenAPI 3.1 `webhooks` section: one entry per event type of the catalog, whose request body
 * is the event envelope (the `Event` schema) with `type` fixed and `data` the catalog's zod
 * schema of that type. Deliveries follow Standard Webhooks: the three headers below, signed with
 * the endpoint's secret.
 */
const signatureHeaders = z.object({
  'webhook-id': z.string().meta({ description: 'The event id: the same on every retry and redelivery; deduplicate on it.', example: 'evt_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
  'webhook-timestamp': z.string().regex(/^\d+$/).meta({ description: 'Unix seconds of this attempt; refuse deliveries far from your clock.', example: '1767225600' }),
  'webhook-signature': z.string().meta({
    description:
      'Space-separated `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` signatures, keyed with the base64 part of the `whsec_` secret. Two during the 24 hours after a rotation: accept either. Verify with any Standard Webhooks library.',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  }),
});

/** The body of a delivery of `type`: the envelope with that type's payload. */
export function webhookBodySchema(type: EventType) {
  return eventSchema.extend({ type: z.literal(type), data: eventCatalog[type].data });
}

const name = (type: string) =>
  type
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

export function webhooksSection(): ZodOpenApiPathsObject {
  const section: ZodOpenApiPathsObject = {};
  for (const type of EVENT_TYPES) {
    const { description } = eventCatalog[type];
    section[type] = {
      post: {
        operationId: `on${name(type)}`,
        summary: type,
        description: `${description}\n\nSent to endpoints subscribed to \`${type}\` or \`*\`${type === 'webhook.test' ? ' (only to the endpoint being tested)' : ''}. Answer 2xx within the timeout; anything else is retried with backoff (5 s up to 10 h), and 410 Gone disables the endpoint.`,
        tags: ['Events'],
        requestParams: { header: signatureHeaders },
        requestBody: {
          required: true,
          content: { 'application/json': { schema: webhookBodySchema(type).meta({ id: `${name(type)}Event`, description: `The \`${type}\` event.` }) } },
        },
        responses: {
          '2XX': { description: 'Received; any 2xx acknowledges the delivery.' },
          '410': { description: 'Gone: the gateway disables the endpoint (`webhook.endpoint_disabled`).' },
        },
      },
    };
  }
  return section;
}
