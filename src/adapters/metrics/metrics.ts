import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's Prometheus metrics. Each runtime has its own registry (never prom-client's
 * global one), so several runtimes in one process, as in the tests, keep their own counts.
 *
 * Label values come from small sets the code chooses: route templates (never raw URLs), queue
 * names, Meta error codes, model names from the configuration, outcome words. Never ids, phone
 * numbers, tokens or anything a caller sends, so neither cardinality nor secrets can leak in.
 */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status_class'>;
  jobsProcessed: Counter<'queue'>;
  /** `final`: "true" when the job will not be tried again (attempts used up, or unrecoverable). */
  jobsFailed: Counter<'queue' | 'final'>;
  agentTurns: Counter<'outcome'>;
  graphRequests: Counter<'operation' | 'outcome' | 'code'>;
  graphRequestDuration: Histogram<'operation'>;
  modelRequestDuration: Histogram<'kind' | 'model' | 'outcome'>;
  modelTokens: Counter<'kind' | 'model' | 'direction'>;
  webhookDeliveryAttempts: Counter<'outcome'>;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  // process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_*, nodejs_heap_*, ...
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route template ("unmatched" when no route matched) and status class, in seconds.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    jobsProcessed: new Counter({
      name: 'gateway_jobs_processed_total',
      help: 'Queue jobs this process finished successfully, by queue.',
      labelNames: ['queue'],
      registers,
    }),
    jobsFailed: new Counter({
      name: 'gateway_jobs_failed_total',
      help: 'Failed attempts of queue jobs in this process, by queue; final="true" when no attempt is left.',
      labelNames: ['queue', 'final'],
      registers,
    }),
    agentTurns: new Counter({
      name: 'gateway_agent_turns_total',
      help: "The agent's turns by outcome (replied, handoff, not_bot, window_closed, ...).",
      labelNames: ['outcome'],
      registers,
    }),
    graphRequests: new Counter({
      name: 'gateway_graph_requests_total',
      help: "Calls to Meta's Graph API by operation and outcome; code is Meta's error code (http_<status> without one, no_response, connect_error), none on success.",
      labelNames: ['operation', 'outcome', 'code'],
      registers,
    }),
    graphRequestDuration: new Histogram({
      name: 'gateway_graph_request_duration_seconds',
      help: "Duration of calls to Meta's Graph API by operation, in seconds.",
      labelNames: ['operation'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers,
    }),
    modelRequestDuration: new Histogram({
      name: 'gateway_model_request_duration_seconds',
      help: 'Model calls (chat, embedding, transcription) by model and outcome, in seconds (LangChain retries included).',
      labelNames: ['kind', 'model', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers,
    }),
    modelTokens: new Counter({
      name: 'gateway_model_tokens_total',
      help: 'Tokens recorded for usage, by kind (chat, embedding, transcription), model and direction (input, output).',
      labelNames: ['kind', 'model', 'direction'],
      registers,
    }),
    webhookDeliveryAttempts: new Counter({
      name: 'gateway_webhook_delivery_attempts_total',
      help: 'Outbound webhook delivery attempts by outcome: succeeded, retrying, failed (410), exhausted, endpoint_disabled, skipped, duplicate, error.',
      labelNames: ['outcome'],
      registers,
    }),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
