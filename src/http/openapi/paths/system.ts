import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { healthSchema, readinessSchema } from '../../routes/health.route';
import { ingressResultSchema } from '../../routes/whatsapp-webhook.route';
import { plainHeaders, publicError, publicOperation } from '../common';

/** What is not the /v1 API: health, Meta's side of WhatsApp, the metrics and this document. */
const retryAfter = plainHeaders.extend({ 'Retry-After': z.string().meta({ description: 'Seconds to wait before retrying.' }) });

/**
 * Meta's verification handshake. The route checks these by hand (the token against the numbers'
 * verify tokens), so this schema documents Meta's request rather than validating it.
 */
const verificationQuery = z.object({
  'hub.mode': z.literal('subscribe'),
  'hub.verify_token': z.string().meta({ description: "One of your numbers' verify tokens." }),
  'hub.challenge': z.string().min(1).max(512).meta({ description: 'Echoed back as text/plain (visible ASCII, at most 512 characters).' }),
});

export const systemPaths: ZodOpenApiPathsObject = {
  '/healthz': {
    get: publicOperation({
      operationId: 'health',
      summary: 'Liveness',
      description: 'The process answers; nothing else is checked.',
      tags: ['Operations'],
      answers: { 200: { description: 'Alive.', schema: healthSchema } },
    }),
  },
  '/readyz': {
    get: publicOperation({
      operationId: 'readiness',
      summary: 'Readiness',
      description: 'Checks the database and Redis (each within its own time limit); 503 names what is failing. Point the load balancer here.',
      tags: ['Operations'],
      answers: {
        200: { description: 'Ready.', schema: readinessSchema },
        503: { description: 'Not ready: the failing checks have `ok: false` and an `error`.', schema: readinessSchema },
      },
    }),
  },
  '/metrics': {
    get: publicOperation({
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        "Prometheus's text format: HTTP request durations by route, queue depths, sends, Graph API and model calls. With `METRICS_TOKEN` set the scraper must send it as a bearer token; without it the endpoint is open (keep it off the internet, or serve it on `METRICS_PORT`).",
      tags: ['Operations'],
      security: [{}, { metricsToken: [] }],
      answers: { 200: { description: 'The metrics.', content: { 'text/plain': { schema: z.string() } } } },
      errors: { 401: publicError('`METRICS_TOKEN` is set and the request did not send it (`invalid_metrics_token`).') },
    }),
  },
  '/webhooks/whatsapp': {
    get: publicOperation({
      operationId: 'verifyWhatsAppWebhook',
      summary: "Meta's verification handshake",
      description: 'Meta calls this once when you set the callback URL in the app dashboard.',
      tags: ['WhatsApp (Meta)'],
      query: verificationQuery,
      answers: { 200: { description: 'The challenge, echoed.', content: { 'text/plain': { schema: z.string() } } } },
      errors: { 403: publicError('`hub.mode` is not `subscribe` or `hub.verify_token` matches no number (`verification_failed`).') },
    }),
    post: publicOperation({
      operationId: 'receiveWhatsAppWebhook',
      summary: "Meta's deliveries",
      description:
        "Messages, statuses and template updates from Meta's Cloud API, verified with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the number's app secret). 200 only once the delivery is durable in the database; 5xx when it could not be stored, so that Meta retries.",
      tags: ['WhatsApp (Meta)'],
      body: {
        description: "Meta's webhook payload (`object: whatsapp_business_account`), at most 3 MB; the signature covers its exact bytes.",
        content: { 'application/json': { schema: z.looseObject({ object: z.string(), entry: z.array(z.looseObject({})) }) } },
      },
      answers: { 200: { description: 'Stored (or nothing to store).', schema: ingressResultSchema } },
      errors: {
        400: publicError('Not a WhatsApp webhook, or not JSON (`invalid_webhook`).'),
        401: publicError('The signature is missing or does not match any number (`invalid_signature`).'),
        413: publicError('The body is over 3 MB (`payload_too_large`).'),
        429: publicError('Too many deliveries with a bad signature from this address (`rate_limited`).', retryAfter),
        500: publicError('An unexpected failure (`internal_error`); Meta retries.'),
        503: publicError('The database or Redis is unavailable (`service_unavailable`); Meta retries.', retryAfter),
      },
    }),
  },
  '/openapi.json': {
    get: publicOperation({
      operationId: 'openapi',
      summary: 'This document',
      description: 'OpenAPI 3.1, generated at start from the zod schemas that validate the routes. A reference page renders it at /docs.',
      tags: ['Operations'],
      answers: { 200: { description: 'The OpenAPI document.', schema: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }) } },
    }),
  },
};
