import { createDocument } from 'zod-openapi';
import pkg from '../../../package.json';
import { conversationPayload, messagePayload, webhookEndpointPayload } from '../../domain/events/catalog';
import { eventSchema } from '../../domain/events/event-stream';
import { SCOPES } from '../../domain/keys/scopes';
import { adminPaths } from './paths/admin';
import { conversationsPaths } from './paths/conversations';
import { knowledgePaths } from './paths/knowledge';
import { messagesPaths } from './paths/messages';
import { sandboxPaths } from './paths/sandbox';
import { systemPaths } from './paths/system';
import { webhooksSection } from './webhooks';

/** The OpenAPI document as JSON (what GET /openapi.json serves). */
export type OpenApiDocument = ReturnType<typeof createDocument>;

const DESCRIPTION = `
A WhatsApp gateway for AI agents with human takeover: send messages and templates, read
conversations, take them over and hand them back, manage the agent's knowledge base, and receive
signed webhooks. Generated from the zod schemas that validate the routes.

**Authentication.** \`Authorization: Bearer gw_live_...\` (or \`gw_test_...\`: test keys never reach
Meta; their messages go to the sandbox). Each operation names the scope it requires; a missing
scope is 403 \`missing_scope\`, another workspace's id is 404. Scopes: ${SCOPES.map((s) => `\`${s}\``).join(', ')}.

**Errors.** \`{"error": {"type", "code", "message", "param"?, "request_id"}}\` with the HTTP status;
\`code\` is stable, \`message\` is for people.

**Lists.** \`{"object": "list", "data", "has_more", "next_cursor"}\`; \`limit\` (1-200, default 20)
and \`starting_after\` (the \`next_cursor\` of the previous page).

**Idempotency.** Creating POSTs accept \`Idempotency-Key\` (kept 24 hours per workspace).

**Rate limits.** Per key, with \`RateLimit-Policy\`, \`RateLimit\` and \`X-RateLimit-*\` headers; 429
with \`Retry-After\` when over.

**Events.** The same events come as webhooks (the webhooks section below) and as Server-Sent
Events (\`GET /v1/events/stream\`).
`.trim();

/** Builds the document; the app builds it once, at start. */
export function createOpenApiDocument(): OpenApiDocument {
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'WhatsApp agent gateway API',
        version: pkg.version,
        description: DESCRIPTION,
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: [
        { name: 'Messages', description: 'Send WhatsApp messages and templates; read them and the 24-hour window.' },
        { name: 'Conversations', description: 'Read conversations; take them over, reply, hand them back, close, reopen, add notes.' },
        { name: 'Events', description: 'The live event stream (Server-Sent Events); the webhook payloads are in the webhooks section.' },
        { name: 'Knowledge', description: "The agent's knowledge base: documents and search." },
        { name: 'Agent', description: 'Ask the agent; its settings, knowledge gaps and usage.' },
        { name: 'Templates', description: "The WhatsApp Business Account's message templates." },
        { name: 'Webhook endpoints', description: 'Where signed events are delivered, and the delivery log.' },
        { name: 'API keys', description: 'Keys, scopes and the caller.' },
        { name: 'WhatsApp (Meta)', description: "The callback URL you give Meta: the gateway's side of the Cloud API webhooks." },
        { name: 'Sandbox', description: "The sandbox page's API: play the customers of sandbox numbers on the built-in Cloud API simulator, and inject faults." },
        { name: 'Operations', description: 'Health, readiness, metrics and this document.' },
      ],
      paths: { ...messagesPaths, ...conversationsPaths, ...knowledgePaths, ...adminPaths, ...sandboxPaths, ...systemPaths },
      webhooks: webhooksSection(),
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'gw_live_... or gw_test_...',
            description: 'An API key of the workspace (`npm run cli -- key:create`, or POST /v1/api-keys).',
          },
          metricsToken: { type: 'http', scheme: 'bearer', description: '`METRICS_TOKEN`, when it is set.' },
        },
        // The catalog's shared payloads: one component each instead of a copy in every event.
        schemas: { Event: eventSchema, MessagePayload: messagePayload, ConversationPayload: conversationPayload, WebhookEndpointPayload: webhookEndpointPayload },
      },
    },
  );
}
