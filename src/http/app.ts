import type http from 'node:http';
import express, { type Express } from 'express';
import type { IngressService } from '../domain/ingress/ingress.service';
import type { ApiKeysService } from '../domain/keys/api-keys.service';
import type { TenancyService } from '../domain/tenancy/tenancy.service';
import type { Logger } from '../lib/logger';
import { accessLog } from './middleware/access-log';
import { authenticate } from './middleware/auth';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { jsonBody } from './middleware/json-body';
import { requestId } from './middleware/request-id';
import { httpMetrics, type HttpMetricsRecorder } from './middleware/http-metrics';
import { metricsRoutes, type MetricsSource } from './routes/metrics.route';
import { createIngressGuard, type IngressGuard } from './middleware/ingress-guard';
import { createWebhookFastPath } from './webhook-fast-path';
import { apiKeysRoutes } from './routes/api-keys.route';
import { healthRoutes, type Readiness } from './routes/health.route';
import { meRoutes } from './routes/me.route';
import { mediaRoutes } from './routes/media.route';
import { messagesRoutes } from './routes/messages.route';
import { templatesRoutes } from './routes/templates.route';
import type { TemplatesService } from '../domain/templates/templates.service';
import type { OutboundService } from '../domain/messages/outbound.service';
import type { IdempotencyRepo } from '../domain/shared/idempotency';
import type { MediaRepo, MediaStorage } from '../domain/media/media.port';
import { whatsappWebhookRoutes } from './routes/whatsapp-webhook.route';
import { consoleRoutes } from './routes/console.route';
import { docsRoutes } from './routes/docs.route';
import { sandboxRoutes, type SandboxRouteDeps } from './routes/sandbox.route';
import { knowledgeRoutes } from './routes/knowledge.route';
import { agentRoutes } from './routes/agent.route';
import type { KnowledgeService } from '../domain/knowledge/knowledge.service';
import type { QueryService } from '../domain/agent/query.service';
import type { KnowledgeGapsRepo } from '../domain/agent/agent-repo.port';
import type { UsageRepo } from '../domain/usage/usage.port';
import type { AgentDefaults } from '../domain/agent/agent-settings';
import type { ConversationsService } from '../domain/conversations/conversations.service';
import type { EventStreams } from '../domain/events/event-streams';
import { conversationsRoutes } from './routes/conversations.route';
import { eventsRoutes, type LiveConnections } from './routes/events.route';
import { webhooksRoutes } from './routes/webhooks.route';
import type { WebhooksService } from '../domain/webhooks/webhooks.service';
import { rateLimit, type RateLimitPolicies } from './middleware/rate-limit';
import type { RateLimiter } from '../domain/limits/rate-limiter.port';

export interface AppDeps {
  logger: Logger;
  /** Request durations by route template (a Prometheus histogram). */
  httpMetrics?: HttpMetricsRecorder;
  /** GET /metrics on this app; absent when METRICS_PORT serves it on its own listener. */
  metricsEndpoint?: { metrics: MetricsSource; token: string | undefined };
  apiKeys: ApiKeysService;
  tenancy: TenancyService;
  readiness: Readiness;
  ingress: IngressService;
  mediaRepo: MediaRepo;
  storage: MediaStorage;
  outbound: OutboundService;
  idempotency: IdempotencyRepo;
  templates: TemplatesService;
  knowledge: KnowledgeService;
  query: QueryService;
  gaps: KnowledgeGapsRepo;
  usageRepo: UsageRepo;
  agentDefaults: AgentDefaults;
  conversations: ConversationsService;
  streams: EventStreams;
  live: LiveConnections;
  sseHeartbeatMs: number;
  webhooks: WebhooksService;
  /** Per-key limits; none without a limiter (no Redis in this process). */
  rateLimiter?: RateLimiter;
  rateLimits: RateLimitPolicies;
  /** The Cloud API simulator's Graph endpoints and the /sandbox page; none without Redis. */
  sandbox?: Pick<SandboxRouteDeps, 'graph' | 'phones' | 'phoneEvents' | 'pageEnabled'>;
  /** Express's `trust proxy` (who may set X-Forwarded-For); false when unset. */
  trustProxy?: boolean | number | string[];
  /** Failed Meta-webhook signatures a source may send a minute (0: no limit). */
  ingressFailuresPerMinute?: number;
}

/** The gateway's HTTP handler, and the express app behind it (for tests that walk its routes). */
export interface HttpApp {
  handler: http.RequestListener;
  express: Express;
}

/**
 * The gateway's HTTP handler: Meta's deliveries (POST /webhooks/whatsapp) are served before
 * express (see webhook-fast-path.ts), everything else by the express app.
 */
export function createApp(deps: AppDeps): HttpApp {
  // One guard for both ways a delivery is served (the fast path and express's route).
  const ingressGuard = createIngressGuard({ limiter: deps.rateLimiter, failuresPerMinute: deps.ingressFailuresPerMinute ?? 0, logger: deps.logger });
  const app = createExpressApp(deps, ingressGuard);
  const fastPath = createWebhookFastPath({
    ingress: deps.ingress,
    ingressGuard,
    logger: deps.logger,
    httpMetrics: deps.httpMetrics,
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
  });
  const handler: http.RequestListener = (req, res) => {
    if (!fastPath(req, res)) app(req, res);
  };
  return { handler, express: app };
}

function createExpressApp(deps: AppDeps, ingressGuard: IngressGuard): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.set('query parser', 'simple');
  app.use(requestId());
  if (deps.httpMetrics) app.use(httpMetrics(deps.httpMetrics));
  app.use(accessLog(deps.logger));
  app.use(healthRoutes(deps.readiness));
  if (deps.metricsEndpoint) app.use(metricsRoutes(deps.metricsEndpoint));
  app.use(whatsappWebhookRoutes({ ingress: deps.ingress, ingressGuard }));
  app.use(consoleRoutes());
  app.use(docsRoutes());
  if (deps.sandbox) {
    app.use(sandboxRoutes({ ...deps.sandbox, apiKeys: deps.apiKeys, tenancy: deps.tenancy, conversations: deps.conversations, streams: deps.streams, live: deps.live, heartbeatMs: deps.sseHeartbeatMs, logger: deps.logger }));
  }

  // Route files use full paths (/v1/...) so that they read like the API reference.
  const api = express.Router();
  api.use('/v1', ...jsonBody('1mb'), authenticate(deps.apiKeys));
  if (deps.rateLimiter) api.use('/v1', rateLimit({ limiter: deps.rateLimiter, policies: deps.rateLimits, logger: deps.logger }));
  api.use(meRoutes(deps));
  api.use(apiKeysRoutes(deps));
  api.use(mediaRoutes(deps));
  api.use(messagesRoutes(deps));
  api.use(templatesRoutes(deps));
  api.use(knowledgeRoutes(deps));
  api.use(agentRoutes(deps));
  // The stream route comes first: /v1/conversations/:id/stream is not a conversation action.
  api.use(eventsRoutes({ ...deps, heartbeatMs: deps.sseHeartbeatMs }));
  api.use(conversationsRoutes(deps));
  api.use(webhooksRoutes(deps));
  app.use(api);

  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
