import type { WebhookDelivery, WebhookEndpoint } from './webhooks.port';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The public JSON of an endpoint: API responses and webhook.endpoint_disabled. Never a secret. */
export function endpointView(e: WebhookEndpoint, now: Date = new Date()) {
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

export function deliveryView(d: WebhookDelivery) {
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
