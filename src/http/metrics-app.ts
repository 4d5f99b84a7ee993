import express, { type Express } from 'express';
import type { Logger } from '../lib/logger';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { requestId } from './middleware/request-id';
import { healthRoutes, type Readiness } from './routes/health.route';
import { metricsRoutes, type MetricsSource } from './routes/metrics.route';

/**
 * The app of METRICS_PORT: /metrics, /healthz and /readyz and nothing else. Worker processes
 * (ROLE=worker) have no other HTTP server, so this is how they are scraped and probed; an API
 * process given METRICS_PORT serves /metrics only here, off its public port.
 */
export function createMetricsApp(deps: { metrics: MetricsSource; token: string | undefined; readiness: Readiness; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  app.use(healthRoutes(deps.readiness));
  app.use(metricsRoutes(deps));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
