import path from 'node:path';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Express } from 'express';
import type { RequestListener } from 'node:http';
import { createApiKeysRepo } from './adapters/postgres/api-keys.repo';
import { createDatabase, type Database } from './adapters/postgres/database';
import { acquireEmbedded } from './adapters/postgres/embedded-lock';
import { createMaintenanceRepo } from './adapters/postgres/maintenance.repo';
import { startHousekeeping } from './adapters/postgres/housekeeping';
import { defaultMigrationsDir, migrate, pendingMigrations } from './adapters/postgres/migrator';
import { createPhoneNumbersRepo } from './adapters/postgres/phone-numbers.repo';
import { createWorkspacesRepo } from './adapters/postgres/workspaces.repo';
import { QUEUE_NAMES, createQueues, type Queues } from './adapters/queue/queues';
import { checkEvictionPolicy, createRedis, pingWithTimeout, waitReady } from './adapters/redis/redis';
import type { Config } from './config/env';
import { createApiKeysService, type ApiKeysService } from './domain/keys/api-keys.service';
import { createTenancyService, type TenancyService } from './domain/tenancy/tenancy.service';
import { createApp } from './http/app';
import type { Readiness, ReadinessCheck } from './http/routes/health.route';
import type { Logger } from './lib/logger';
import { resolveMasterKey } from './lib/master-key';
import { createSecretBox } from './lib/secret-box';
import { createMaintenanceWorker, scheduleMaintenance } from '../workers/maintenance.worker';
import { startSweeper } from '../workers/sweeper';
import { createReconcileQueues } from '../workers/reconciler';
import { createReconcileRepo } from './adapters/postgres/reconcile.repo';
import { createReconciler } from './domain/reconcile/reconciler.service';
import { createMediaWorker } from '../workers/media.worker';
import { createReceiptsWorker } from '../workers/receipts.worker';
import { createMediaRepo } from './adapters/postgres/media.repo';
import { createLocalDiskStorage } from './adapters/storage/local-disk.storage';
import { createSupabaseStorage } from './adapters/storage/supabase.storage';
import { createGraphClient } from './adapters/whatsapp/graph-api.client';
import { toGraphBody } from './adapters/whatsapp/message-body';
import { createSandbox } from './adapters/simulator/sandbox';
import { createSendRepo } from './adapters/postgres/send.repo';
import { createOutboundRepo } from './adapters/postgres/outbound.repo';
import { createIdempotencyRepo } from './adapters/postgres/idempotency.repo';
import { createSendService } from './domain/messages/send.service';
import { createOutboundService, type OutboundService } from './domain/messages/outbound.service';
import { createTemplatesService, type TemplatesService } from './domain/templates/templates.service';
import { createTemplatesRepo } from './adapters/postgres/templates.repo';
import { createSendWorkers } from '../workers/send.worker';
import { createIngressRepo } from './adapters/postgres/ingress.repo';
import { createAgentDebounce, type AgentDebounce } from './adapters/queue/agent-debounce';
import { createSchedulers } from './adapters/queue/schedulers';
import { createIngressService, type IngressService } from './domain/ingress/ingress.service';
import { createKnowledgeRepo } from './adapters/postgres/knowledge.repo';
import { createKnowledgeService, type KnowledgeService } from './domain/knowledge/knowledge.service';
import { createUsageRepo } from './adapters/postgres/usage.repo';
import { createUsageRecorder } from './domain/usage/usage.port';
import { createEmbedder } from './adapters/llm/embeddings';
import { createRetriever } from './adapters/llm/knowledge-retriever';
import { createOpenAiAnswerModel } from './adapters/llm/openai-answer.model';
import { createOfflineAnswerModel } from './adapters/llm/offline-answer.model';
import { createOpenAiTranscriber } from './adapters/llm/openai-transcriber';
import { createAgentRepo } from './adapters/postgres/agent.repo';
import { createKnowledgeGapsRepo } from './adapters/postgres/knowledge-gaps.repo';
import { createAdvisoryLocks, createInProcessLocks } from './adapters/postgres/conversation-locks';
import { createAgentService, type AgentService } from './domain/agent/agent.service';
import { createQueryService, type QueryService } from './domain/agent/query.service';
import type { AgentDefaults } from './domain/agent/agent-settings';
import { readMessageMedia } from './domain/media/media.port';
import { createAgentWorker } from '../workers/agent.worker';
import { createKnowledgeWorker } from '../workers/knowledge.worker';
import { createConversationsRepo } from './adapters/postgres/conversations.repo';
import { createEventStreamRepo } from './adapters/postgres/event-stream.repo';
import { createRedisEventBus } from './adapters/redis/event-bus';
import { createConversationsService, type ConversationsService } from './domain/conversations/conversations.service';
import { createEventDispatcher, type EventDispatcher } from './domain/events/event-dispatcher';
import type { EventBus } from './domain/events/event-stream';
import { createEventStreams } from './domain/events/event-streams';
import { resolveAgentSettings } from './domain/agent/agent-settings';
import { outboundMessageSchema } from './domain/messages/outbound.schema';
import { createLiveConnections } from './http/routes/events.route';
import { createRedisRateLimiter } from './adapters/redis/rate-limiter';
import { parseInput } from './http/validate';
import { errors } from './lib/errors';
import { createWebhooksRepo } from './adapters/postgres/webhooks.repo';
import { checkWebhookUrl } from './adapters/webhooks/ssrf';
import { createWebhookSender } from './adapters/webhooks/webhook-sender';
import { createWebhooksService, type WebhooksService } from './domain/webhooks/webhooks.service';
import { createWebhookDeliveryService, type WebhookDeliveryService } from './domain/webhooks/webhook-delivery.service';
import { createWebhooksWorker, enqueueWebhookJobs } from '../workers/webhooks.worker';
import { seedDemo, type DemoSeedOutcome } from './demo/demo-seed';
import { createMetrics, type Metrics } from './adapters/metrics/metrics';
import { createBullmqQueueSource, registerQueueStats } from './adapters/metrics/queue-stats';
import {
  instrumentAnswerModel,
  instrumentEmbedder,
  instrumentGraphClient,
  instrumentTranscriber,
  instrumentUsage,
  instrumentWebhookDelivery,
  observeWorker,
} from './adapters/metrics/instrument';
import { createMetricsApp } from './http/metrics-app';
import { sendQueueName } from '../workers/send.worker';

/**
 * The composition root: the only place that constructs adapters and wires them into services,
 * the HTTP app and the workers. Nothing is started here; main.ts (or a test) starts what it needs.
 */
export interface RuntimeOptions {
  /** Connect to Redis and create queue producers (the API and workers need them; the CLI not). */
  redis: boolean;
  /** Build the express app. */
  http: boolean;
  /** Build the queue workers (not yet running: call runWorkers()). */
  workers: boolean;
  /** Apply pending migrations before anything else (default true). */
  migrate?: boolean;
  /** Use this database instead of creating one (tests). */
  database?: Database;
  /**
   * The database this runtime created can no longer be used (the embedded database's thread
   * stopped): nothing but a restart brings it back. The process stops on it.
   */
  onDatabaseLost?: (err: Error) => void;
}

export interface Services {
  apiKeys: ApiKeysService;
  tenancy: TenancyService;
  ingress: IngressService;
}

export interface OutboundServices {
  outbound: OutboundService;
  templates: TemplatesService;
  knowledge: KnowledgeService;
  agent: AgentService;
  query: QueryService;
  conversations: ConversationsService;
  webhooks: WebhooksService;
}

export interface Runtime {
  config: Config;
  logger: Logger;
  db: Database;
  services: Services & OutboundServices;
  /** The HTTP handler (main.ts serves it; tests call it). */
  app: RequestListener | undefined;
  /** The express app behind `app`, which serves all but Meta's deliveries (tests walk its routes). */
  expressApp: Express | undefined;
  redis: Redis | undefined;
  queues: Queues | undefined;
  /** The agent's debounce (agent-debounce.ts); its promoter runs with the workers. */
  agentDebounce: AgentDebounce | undefined;
  workers: Worker[];
  readiness: Readiness;
  /** Moves outbox events onto the live stream (started by runWorkers). */
  events: EventDispatcher;
  /** Webhook delivery attempts and the sweep of overdue ones (run by workers and the sweeper). */
  webhookDelivery: WebhookDeliveryService;
  /** This process's Prometheus registry and instruments. */
  metrics: Metrics;
  /** /metrics, /healthz and /readyz alone, for METRICS_PORT (main.ts listens). */
  metricsApp: Express | undefined;
  runWorkers(): Promise<void>;
  /** Ends the live streams (SSE), so that the HTTP server can drain before close(). */
  closeStreams(): void;
  /** main.ts: the HTTP server listens there (the Cloud API simulator calls the gateway back there). */
  listening(host: string, port: number): void;
  /** Seeds the demo workspace when this is a first start that may have one (see src/demo). */
  seedDemo(): Promise<DemoSeedOutcome>;
  /** Closes workers (waiting for their jobs), queues, Redis and the database, in that order. */
  close(opts?: { force?: boolean }): Promise<void>;
}

async function timed(ms: number, fn: () => Promise<ReadinessCheck>): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<ReadinessCheck>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${ms} ms` }), ms);
      }),
    ]);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function createRuntime(config: Config, logger: Logger, opts: RuntimeOptions): Promise<Runtime> {
  const releases: (() => void)[] = [];
  let db = opts.database;
  if (!db) {
    if (!config.databaseUrl) releases.push(acquireEmbedded(config.dataDir));
    db = await createDatabase({
      url: config.databaseUrl,
      dataDir: path.join(config.dataDir, 'pglite'),
      poolMax: config.databasePoolMax,
      thread: config.embeddedDatabaseThread,
      onError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection error'),
      onFailure: (err) => {
        logger.error({ err: { message: err.message } }, 'the embedded database stopped: what needs it fails (503) until the gateway restarts');
        opts.onDatabaseLost?.(err);
      },
    });
    if (!config.databaseUrl) logger.info({ dir: path.join(config.dataDir, 'pglite') }, 'using the embedded database');
  }
  const database = db;
  const migrationsDir = defaultMigrationsDir();
  if (opts.migrate !== false) {
    const result = await migrate(database.pool, migrationsDir);
    if (result.applied.length > 0) logger.info({ applied: result.applied }, 'database migrations applied');
    if (result.changed.length > 0) {
      logger.warn({ changed: result.changed }, 'applied migrations were edited since; add a new migration instead');
    }
  }

  // Statistics and dead versions where autovacuum does not run (the embedded database has none).
  const housekeeper =
    opts.http || opts.workers
      ? await startHousekeeping({ pool: database.pool, kind: database.kind, mode: config.databaseHousekeeping, logger })
      : undefined;
  if (housekeeper?.active) logger.debug('table housekeeping on (autovacuum does not run here)');

  const secrets = createSecretBox(resolveMasterKey(config.masterKey, config.dataDir, logger));

  // One registry per runtime; the CLI (no HTTP, no workers) needs no process metrics.
  const metrics = createMetrics({ defaultMetrics: opts.http || opts.workers });

  let redis: Redis | undefined;
  let queues: Queues | undefined;
  if (opts.redis) {
    redis = createRedis(config.redisUrl, 'producer', logger);
    // The producer has no offline queue (it fails fast while Redis is down), so wait until it is
    // connected before the queues run their first commands.
    const ready = await waitReady(redis, 5_000).then(
      () => true,
      (e: Error) => {
        logger.warn({ err: { message: e.message } }, 'Redis is not answering yet');
        return false;
      },
    );
    queues = createQueues({ connection: redis, prefix: config.queuePrefix });
    if (ready) {
      await checkEvictionPolicy(redis, logger);
      for (const name of QUEUE_NAMES) queues.get(name);
    }
  }

  const agentDebounce = redis && queues
    ? createAgentDebounce({ redis, prefix: config.queuePrefix, queues, debounceMs: config.agentDebounceMs, logger })
    : undefined;
  const schedulers = createSchedulers(queues, agentDebounce);
  const tenancy = createTenancyService({
    workspaces: createWorkspacesRepo(database.pool),
    numbers: createPhoneNumbersRepo(database.pool),
    secrets,
  });
  // The embedded database's own thread commits the ingress's groups (read from `database` at each
  // call: a test stands in for a database thread that has stopped).
  const commitIngress = database.commitIngress;
  const ingressRepo = createIngressRepo(
    database.pool,
    commitIngress && ((plans, dispatchPending) => (database.commitIngress ?? commitIngress)(plans, dispatchPending)),
  );
  const services: Services = {
    apiKeys: createApiKeysService({ repo: createApiKeysRepo(database.pool) }),
    tenancy,
    ingress: createIngressService({
      repo: ingressRepo,
      tenancy,
      schedulers,
      logger,
      readReceipts: config.readReceipts,
      // Two groups at once: one commits while the one before enqueues its jobs in Redis. More
      // only makes the groups smaller, and a transaction costs the database ~0.4 ms of CPU
      // whatever its size (~0.1 ms per message on top): with 4 the Postgres ratio of bench/ingress
      // was 0.34-0.46 (mean 0.41, six runs), with 2 0.42-0.50 (mean 0.46) on the same day. The
      // embedded database has one connection either way. On its own thread, the database thread
      // forms the groups (from whatever arrived while its last one ran): each turn of the event
      // loop hands over what it has read at once.
      commitConcurrency: database.commitIngress
        ? 64
        : database.kind === 'postgres' ? Math.max(1, Math.min(2, config.databasePoolMax - 2)) : 2,
    }),
  };

  await bootstrapFromEnv(config, services, logger);

  const readiness: Readiness = async () => {
    const checks: Record<string, ReadinessCheck> = {};
    const [database_, redis_, migrations] = await Promise.all([
      timed(2_000, async () => {
        await database.pool.query('select 1');
        return { ok: true };
      }),
      redis
        ? timed(2_000, async () => {
            await pingWithTimeout(redis as Redis, 2_000);
            return { ok: true };
          })
        : Promise.resolve<ReadinessCheck>({ ok: true, skipped: true }),
      timed(2_000, async () => {
        const pending = await pendingMigrations(database.pool, migrationsDir);
        return pending.length === 0 ? { ok: true } : { ok: false, error: 'migrations pending', pending };
      }),
    ]);
    checks.database = database_;
    checks.redis = redis_;
    checks.migrations = migrations;
    return checks;
  };

  const storage = config.supabase
    ? createSupabaseStorage(config.supabase)
    : createLocalDiskStorage(path.join(config.dataDir, 'media'));
  const mediaRepo = createMediaRepo(database.pool);
  const graph = instrumentGraphClient(createGraphClient({ baseUrl: config.whatsapp.graphUrl, apiVersion: config.whatsapp.apiVersion }), metrics);
  // Sandbox numbers and test keys talk to the built-in Cloud API simulator, served by the HTTP app.
  const sandbox = redis
    ? createSandbox({
        redis,
        subscriber: () => createRedis(config.redisUrl, 'worker', logger),
        prefix: config.queuePrefix,
        tenancy,
        templates: { list: (...a) => templatesRepo.list(...a) },
        apiVersion: config.whatsapp.apiVersion,
        gatewayUrl: config.sandbox.gatewayUrl,
        port: config.port,
        delays: config.sandbox.statusDelaysMs,
        app: (): RequestListener | undefined => app,
        serve: opts.http,
        logger,
      })
    : undefined;
  // Workers acting on a number (media, read receipts) reach the simulator for sandbox numbers.
  const numberGraph = sandbox ? sandbox.routed(graph) : graph;
  // The send pipeline: per-number queues; workers only in worker processes.
  const sendRepo = createSendRepo(database.pool, ingressRepo);
  const sendWorkerConnection = opts.workers ? createRedis(config.redisUrl, 'worker', logger) : undefined;
  const sendWorkers = redis
    ? createSendWorkers({
        producer: redis,
        workerConnection: sendWorkerConnection ?? redis,
        prefix: config.queuePrefix,
        service: createSendService({ repo: sendRepo, graph, sandbox: sandbox?.graph, tenancy, logger }),
        repo: sendRepo,
        logger,
        consume: opts.workers,
        onWorker: (w) => observeWorker(w, metrics),
      })
    : undefined;
  const outboundRepo = createOutboundRepo(database.pool);
  const outbound = createOutboundService({
    repo: outboundRepo,
    enqueue: async (numberId, job) => {
      if (!sendWorkers) throw new Error('no queues in this process');
      await sendWorkers.enqueue(numberId, job);
    },
    toGraphBody,
  });
  const idempotency = createIdempotencyRepo(database.pool);
  // Signed outbound webhooks: endpoints, the SSRF guard, deliveries through queue "webhooks".
  const webhookPolicy = { allowInsecure: config.webhooks.allowInsecure, allowPrivate: config.webhooks.allowPrivate };
  const webhooksRepo = createWebhooksRepo(database.pool);
  const enqueueWebhooks = async (jobs: Parameters<ReturnType<typeof enqueueWebhookJobs>>[0], opts?: { delayMs?: number; unique?: boolean }) => {
    if (!queues) throw new Error('no queues in this process');
    await enqueueWebhookJobs(queues)(jobs, opts);
  };
  const webhooks = createWebhooksService({
    repo: webhooksRepo,
    secrets,
    checkUrl: async (url) => {
      await checkWebhookUrl(url, webhookPolicy);
    },
    enqueue: enqueueWebhooks,
  });
  const webhookDelivery = instrumentWebhookDelivery(
    createWebhookDeliveryService({
      repo: webhooksRepo,
      secrets,
      sender: createWebhookSender({ policy: webhookPolicy, timeoutMs: config.webhooks.timeoutMs }),
      enqueue: enqueueWebhooks,
      retryScheduleMs: config.webhooks.retryScheduleMs,
      timeoutMs: config.webhooks.timeoutMs,
      disableAfterMs: config.webhooks.disableAfterMs,
      logger,
    }),
    metrics,
  );
  const templatesRepo = createTemplatesRepo(database.pool);
  const templates = createTemplatesService({ repo: templatesRepo, tenancy, graph });

  // The AI agent: models from config (OpenAI-compatible, or the offline provider without a key).
  const ai = config.ai;
  const usageRepo = createUsageRepo(database.pool);
  const usage = instrumentUsage(
    createUsageRecorder({
      repo: usageRepo,
      prices: ai.prices,
      onError: (e) => logger.warn({ err: { message: e.message } }, 'usage not recorded'),
    }),
    metrics,
  );
  const modelConfig = { apiKey: ai.openaiApiKey, baseUrl: ai.openaiBaseUrl, timeoutMs: ai.timeoutMs, maxRetries: ai.maxRetries };
  const embedder = instrumentEmbedder(createEmbedder({ ...modelConfig, model: ai.embeddingModel }), metrics);
  const knowledgeRepo = createKnowledgeRepo(database.pool);
  const knowledge = createKnowledgeService({
    repo: knowledgeRepo,
    embedder,
    usage,
    enqueue: async (job) => {
      if (!queues) throw new Error('no queues in this process');
      await queues.add('knowledge', job, { jobId: `knowledge-${job.documentId}-v${job.version}` });
    },
  });
  const answerModel = instrumentAnswerModel(
    ai.openaiApiKey ? createOpenAiAnswerModel({ ...modelConfig, apiKey: ai.openaiApiKey, model: ai.llmModel }) : createOfflineAnswerModel(),
    metrics,
  );
  const retriever = createRetriever({ embedder, search: (p) => knowledgeRepo.search(p), usage });
  const agentDefaults: AgentDefaults = {
    minConfidence: ai.minConfidence,
    handoffKeywords: ai.handoffKeywords,
    handoffMessage: ai.handoffMessage,
    voiceNoteReply: ai.voiceNoteReply,
    knowledgeGapThreshold: ai.knowledgeGapThreshold,
  };
  const agentRepo = createAgentRepo(database.pool);
  const agent = createAgentService({
    repo: agentRepo,
    locks: database.kind === 'postgres' ? createAdvisoryLocks(database.pool) : createInProcessLocks(),
    retriever,
    model: answerModel,
    transcriber: ai.openaiApiKey
      ? instrumentTranscriber(createOpenAiTranscriber({ ...modelConfig, apiKey: ai.openaiApiKey, model: ai.transcriptionModel }), metrics)
      : undefined,
    audio: { audio: (workspaceId, messageId) => readMessageMedia(mediaRepo, storage, workspaceId, messageId) },
    usage,
    enqueueSend: async (numberId, job) => {
      if (!sendWorkers) throw new Error('no queues in this process');
      await sendWorkers.enqueue(numberId, job);
    },
    toGraphBody,
    markRead: config.readReceipts === 'on_answer' ? (items) => schedulers.receipts(items) : undefined,
    defaults: agentDefaults,
    historyTokens: ai.historyTokens,
    passages: 5,
    logger,
  });
  const query = createQueryService({ repo: agentRepo, agent, retriever, model: answerModel, usage, defaults: agentDefaults, passages: 5 });
  if (!ai.openaiApiKey) logger.info('no OPENAI_API_KEY: the agent uses the offline provider (local embeddings, quoted answers)');

  // Human agents and the live stream.
  const conversations = createConversationsService({
    repo: createConversationsRepo(database.pool),
    outbound,
    parseMessage: (body) => parseInput(outboundMessageSchema, body),
    answerAfterHandback: async (workspaceId) => {
      const w = await tenancy.getWorkspace(workspaceId);
      return resolveAgentSettings(w.name, w.settings.agent, agentDefaults).answerAfterHandback;
    },
    scheduleAgent: (items) => schedulers.agent(items),
    humanIdleTimeoutMs: config.humanIdleTimeoutMs,
    logger,
  });
  const eventStreamRepo = createEventStreamRepo(database.pool);
  const bus: EventBus = redis
    ? createRedisEventBus({ publisher: redis, subscriber: () => createRedis(config.redisUrl, 'worker', logger), prefix: config.queuePrefix, logger })
    : {
        publish: async () => undefined,
        subscribe: async () => {
          throw errors.unavailable('The live event stream needs Redis.');
        },
        close: async () => undefined,
      };
  const events = createEventDispatcher({ repo: eventStreamRepo, bus, logger, intervalMs: config.eventDispatchIntervalMs, enqueueDeliveries: (jobs) => enqueueWebhooks(jobs) });
  const live = createLiveConnections();

  // Queue depths are read at scrape time (see queue-stats.ts), in every process that has queues.
  const queueSource =
    queues && redis
      ? createBullmqQueueSource({
          connection: redis,
          prefix: config.queuePrefix,
          queueNames: async () => [...QUEUE_NAMES, ...(await tenancy.listNumbers()).map((n) => sendQueueName(n.id))],
        })
      : undefined;
  if (queueSource && (opts.http || opts.workers)) registerQueueStats(metrics.registry, queueSource.read);
  // METRICS_PORT: /metrics on its own listener (and not on the API's port).
  const metricsApp =
    config.metrics.port !== undefined && (opts.http || opts.workers)
      ? createMetricsApp({ metrics, token: config.metrics.token, readiness, logger })
      : undefined;
  if (opts.http && !metricsApp && !config.metrics.token && config.nodeEnv === 'production') {
    logger.warn('GET /metrics is open on the API port: set METRICS_TOKEN, or METRICS_PORT to serve it on an internal port');
  }

  const httpApp = opts.http
    ? createApp({
        logger,
        httpMetrics: metrics.httpRequestDuration,
        metricsEndpoint: metricsApp ? undefined : { metrics, token: config.metrics.token },
        ...services,
        readiness,
        mediaRepo,
        storage,
        outbound,
        idempotency,
        templates,
        knowledge,
        query,
        gaps: createKnowledgeGapsRepo(database.pool),
        usageRepo,
        agentDefaults,
        conversations,
        streams: createEventStreams({ repo: eventStreamRepo, bus }),
        live,
        sseHeartbeatMs: config.sseHeartbeatMs,
        webhooks,
        sandbox:
          sandbox?.simulator && sandbox.phoneEvents
            ? { graph: sandbox.simulator.graph, phones: sandbox.simulator.phones, phoneEvents: sandbox.phoneEvents, pageEnabled: config.sandbox.enabled }
            : undefined,
        rateLimiter: redis ? createRedisRateLimiter({ redis, prefix: config.queuePrefix }) : undefined,
        rateLimits: {
          requests: config.rateLimits.requestsPerMinute > 0 ? { name: 'requests', limit: config.rateLimits.requestsPerMinute, windowMs: 60_000 } : undefined,
          sends: config.rateLimits.sendsPerMinute > 0 ? { name: 'sends', limit: config.rateLimits.sendsPerMinute, windowMs: 60_000 } : undefined,
        },
        trustProxy: config.trustProxy,
        ingressFailuresPerMinute: config.ingressFailuresPerMinute,
      })
    : undefined;
  const app = httpApp?.handler;

  const workers: Worker[] = [];
  if (opts.workers) {
    if (!queues) throw new Error('workers need redis: true');
    const workerDeps = {
      connection: createRedis(config.redisUrl, 'worker', logger),
      prefix: config.queuePrefix,
      logger,
    };
    workers.push(createMaintenanceWorker({ ...workerDeps, repo: createMaintenanceRepo(database.pool), syncTemplates: () => templates.syncAll() }));
    workers.push(createMediaWorker({ ...workerDeps, repo: mediaRepo, storage, graph: numberGraph, tenancy }));
    workers.push(createReceiptsWorker({ ...workerDeps, graph: numberGraph, tenancy }));
    workers.push(createKnowledgeWorker({ ...workerDeps, knowledge }));
    workers.push(createAgentWorker({ ...workerDeps, agent, concurrency: ai.concurrency }));
    workers.push(createWebhooksWorker({ ...workerDeps, delivery: webhookDelivery, concurrency: config.webhooks.concurrency }));
    releases.push(() => workerDeps.connection.disconnect());
    for (const w of workers) observeWorker(w, metrics);
  }

  let stopSweeper = () => {};
  let stopPromoter = async (): Promise<void> => {};
  let closeReconcile = async (): Promise<void> => {};
  return {
    config,
    logger,
    db: database,
    services: { ...services, outbound, templates, knowledge, agent, query, conversations, webhooks },
    app,
    expressApp: httpApp?.express,
    redis,
    queues,
    agentDebounce,
    workers,
    readiness,
    events,
    webhookDelivery,
    listening: (host, port) => sandbox?.listening(host, port),
    metrics,
    metricsApp,
    seedDemo: () => seedDemo({ tenancy, apiKeys: services.apiKeys, knowledge, templates: templatesRepo, logger }, config),
    async runWorkers() {
      for (const w of workers) void w.run();
      if (opts.workers) {
        const syncSenders = async () => sendWorkers?.sync(await tenancy.listNumbers());
        await syncSenders();
        const redriveIndexing = async () => {
          for (const job of await knowledge.unindexed(new Date(Date.now() - 60_000), 200)) {
            await queues?.add('knowledge', job, { jobId: `knowledge-${job.documentId}-v${job.version}` });
          }
        };
        const handBackIdle = () => conversations.handBackIdle();
        // Stuck sends, unanswered conversations, undispatched events and overdue deliveries
        // (see reconciler.service.ts); the send queues are the send workers'.
        const reconcileQueues = redis && queues && agentDebounce && sendWorkers
          ? createReconcileQueues({ producer: redis, prefix: config.queuePrefix, queues, debounce: agentDebounce, enqueueSend: (numberId, job) => sendWorkers.enqueue(numberId, job) })
          : undefined;
        closeReconcile = async () => reconcileQueues?.close();
        const reconciler = reconcileQueues
          ? createReconciler({ repo: createReconcileRepo(database.pool), queues: reconcileQueues, dispatchEvents: () => events.runOnce(), sweepDeliveries: () => webhookDelivery.sweep(), logger })
          : undefined;
        stopSweeper = startSweeper({ ingress: services.ingress, logger, tasks: [syncSenders, redriveIndexing, handBackIdle, async () => reconciler?.run()] });
        events.start();
        // Conversations whose debounce ran out become agent jobs (in every worker process).
        if (agentDebounce) stopPromoter = agentDebounce.start().stop;
      }
      if (queues && workers.length > 0) {
        await scheduleMaintenance(queues, config.templateSyncIntervalMs).catch((e: Error) =>
          logger.warn({ err: { message: e.message } }, 'could not schedule maintenance'),
        );
      }
    },
    closeStreams: () => live.closeAll(),
    async close({ force = false } = {}) {
      stopSweeper();
      await stopPromoter();
      live.closeAll();
      await sandbox?.close();
      await events.stop();
      await bus.close();
      await Promise.all([...workers.map((w) => w.close(force)), sendWorkers?.close(force)]);
      await closeReconcile().catch(() => undefined);
      sendWorkerConnection?.disconnect();
      await queueSource?.close();
      await queues?.close().catch(() => undefined);
      redis?.disconnect();
      await housekeeper?.stop();
      if (!opts.database) await database.close();
      for (const release of releases.reverse()) release();
    },
  };
}

/** Single-number deployments: the WHATSAPP_* variables and ADMIN_API_KEY, upserted at start. */
async function bootstrapFromEnv(config: Config, services: Services, logger: Logger): Promise<void> {
  const single = config.whatsapp.singleNumber;
  if (!single && !config.adminApiKey) return;
  const workspace = await services.tenancy.ensureDefaultWorkspace();
  if (single) {
    await services.tenancy.upsertNumber({
      workspaceId: workspace.id,
      phoneNumberId: single.phoneNumberId,
      wabaId: single.wabaId,
      displayNumber: single.displayNumber ?? null,
      accessToken: single.accessToken,
      appSecret: single.appSecret,
      verifyToken: single.verifyToken,
      messagesPerSecond: single.mps,
      source: 'env',
    });
  }
  if (config.adminApiKey) await services.apiKeys.installEnvKey(workspace.id, config.adminApiKey);
  logger.info(
    { workspace_id: workspace.id, number: single ? 'configured' : 'none', admin_key: config.adminApiKey ? 'configured' : 'none' },
    'single-number configuration applied',
  );
}
