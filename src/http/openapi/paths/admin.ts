import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { listQuerySchema } from '../../../domain/shared/pagination';
import { webhookDeliverySchema, webhookEndpointSchema, webhookEndpointWithSecretSchema } from '../../../domain/webhooks/webhook-view';
import { apiKeySchema, createApiKeyBody, createdApiKeySchema } from '../../routes/api-keys.route';
import { meSchema } from '../../routes/me.route';
import { listTemplatesQuery, templateSchema, templateSyncSchema } from '../../routes/templates.route';
import { createWebhookBody, updateWebhookBody } from '../../routes/webhooks.route';
import { deletedSchema, listSchema } from '../../serialize';
import { apiOperation, idParam } from '../common';

/** Webhook endpoints, API keys, the caller (/v1/me) and templates: the workspace's administration. */
const endpointId = z.object({ id: idParam('webhookEndpoint', 'webhook endpoint') });
const keyId = z.object({ id: idParam('apiKey', 'API key') });
const hooks = ['Webhook endpoints'];
const keys = ['API keys'];

export const adminPaths: ZodOpenApiPathsObject = {
  '/v1/me': {
    get: apiOperation({
      operationId: 'getMe',
      summary: 'Who am I',
      description: 'The workspace and the key of this request, with its scopes and mode.',
      tags: keys,
      scopes: [],
      answers: { 200: { description: 'The workspace and key.', schema: meSchema } },
    }),
  },
  '/v1/api-keys': {
    get: apiOperation({
      operationId: 'listApiKeys',
      summary: 'List API keys',
      tags: keys,
      scopes: ['keys:manage'],
      query: listQuerySchema,
      answers: { 200: { description: 'A page of keys (never the keys themselves).', schema: listSchema(apiKeySchema, 'ApiKeyList') } },
    }),
    post: apiOperation({
      operationId: 'createApiKey',
      summary: 'Create an API key',
      description: 'The key is in `key`, shown this once. A key can only mint keys with scopes it holds, and a test key only test keys (403).',
      tags: keys,
      scopes: ['keys:manage'],
      body: createApiKeyBody,
      answers: { 201: { description: 'The new key, with the key itself.', schema: createdApiKeySchema } },
    }),
  },
  '/v1/api-keys/{id}': {
    get: apiOperation({
      operationId: 'getApiKey',
      summary: 'Get an API key',
      tags: keys,
      scopes: ['keys:manage'],
      path: keyId,
      answers: { 200: { description: 'The key (without its secret).', schema: apiKeySchema } },
    }),
    delete: apiOperation({
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      description: 'It stops working at once; `revoked_at` is set.',
      tags: keys,
      scopes: ['keys:manage'],
      path: keyId,
      answers: { 200: { description: 'The revoked key.', schema: apiKeySchema } },
    }),
  },
  '/v1/templates/sync': {
    post: apiOperation({
      operationId: 'syncTemplates',
      summary: 'Sync the template catalog from Meta',
      description: "Every account (WABA) of the workspace, all pages. Templates Meta no longer lists become `DELETED`. 400 `no_number` when the workspace has no number connected to Meta; 502 when Meta refuses.",
      tags: ['Templates'],
      scopes: ['templates:write'],
      answers: { 200: { description: 'What was synced.', schema: templateSyncSchema } },
      errors: [400, 502],
    }),
  },
  '/v1/templates': {
    get: apiOperation({
      operationId: 'listTemplates',
      summary: 'List templates',
      tags: ['Templates'],
      scopes: ['templates:read'],
      query: listTemplatesQuery,
      answers: { 200: { description: 'A page of templates.', schema: listSchema(templateSchema, 'TemplateList') } },
    }),
  },
  '/v1/webhooks': {
    post: apiOperation({
      operationId: 'createWebhookEndpoint',
      summary: 'Add a webhook endpoint',
      description:
        'Events are delivered signed (Standard Webhooks; see the webhooks section of this document). The signing secret is in `secret`, shown this once. Unknown event types and refused URLs (not https, or not public) are 400 naming the field.',
      tags: hooks,
      scopes: ['webhooks:manage'],
      body: createWebhookBody,
      idempotent: true,
      answers: { 201: { description: 'The endpoint, with its secret.', schema: webhookEndpointWithSecretSchema } },
    }),
    get: apiOperation({
      operationId: 'listWebhookEndpoints',
      summary: 'List webhook endpoints',
      tags: hooks,
      scopes: ['webhooks:manage'],
      query: listQuerySchema,
      answers: { 200: { description: 'A page of endpoints (never their secrets).', schema: listSchema(webhookEndpointSchema, 'WebhookEndpointList') } },
    }),
  },
  '/v1/webhooks/{id}': {
    get: apiOperation({
      operationId: 'getWebhookEndpoint',
      summary: 'Get a webhook endpoint',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId,
      answers: { 200: { description: 'The endpoint.', schema: webhookEndpointSchema } },
    }),
    patch: apiOperation({
      operationId: 'updateWebhookEndpoint',
      summary: 'Change a webhook endpoint',
      description: '`active: true` re-enables an endpoint the gateway disabled.',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId,
      body: updateWebhookBody,
      answers: { 200: { description: 'The endpoint.', schema: webhookEndpointSchema } },
    }),
    delete: apiOperation({
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete a webhook endpoint',
      description: 'With its delivery log.',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId,
      answers: { 200: { description: 'Deleted.', schema: deletedSchema('webhook_endpoint', 'DeletedWebhookEndpoint') } },
    }),
  },
  '/v1/webhooks/{id}/rotate-secret': {
    post: apiOperation({
      operationId: 'rotateWebhookSecret',
      summary: "Rotate an endpoint's secret",
      description: 'The new secret is in `secret`, once; the old one keeps signing beside it for 24 hours (two signatures in `webhook-signature`).',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId,
      idempotent: true,
      answers: { 200: { description: 'The endpoint, with its new secret.', schema: webhookEndpointWithSecretSchema } },
    }),
  },
  '/v1/webhooks/{id}/test': {
    post: apiOperation({
      operationId: 'testWebhookEndpoint',
      summary: 'Send a test event',
      description: 'A `webhook.test` event to this endpoint only, through the normal delivery path (it shows in the deliveries).',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId,
      idempotent: true,
      answers: { 202: { description: 'The delivery, pending.', schema: webhookDeliverySchema } },
    }),
  },
  '/v1/webhooks/{id}/deliveries': {
    get: apiOperation({
      operationId: 'listWebhookDeliveries',
      summary: "An endpoint's deliveries",
      description: 'Newest first.',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId,
      query: listQuerySchema,
      answers: { 200: { description: 'A page of deliveries.', schema: listSchema(webhookDeliverySchema, 'WebhookDeliveryList') } },
    }),
  },
  '/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver': {
    post: apiOperation({
      operationId: 'redeliverWebhook',
      summary: 'Redeliver an event',
      description: 'One more attempt now, with the same `webhook-id`; if it fails and retries remain, the schedule resumes.',
      tags: hooks,
      scopes: ['webhooks:manage'],
      path: endpointId.extend({ delivery_id: idParam('webhookDelivery', 'delivery') }),
      answers: { 202: { description: 'The delivery, pending.', schema: webhookDeliverySchema } },
    }),
  },
};
