import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminSocketPath } from './adapters/postgres/embedded-lock';
import { ensureRedis } from './adapters/redis/ensure-redis';
import { startAdminSocket } from './cli/admin-socket';
import { createRuntime } from './composition';
import { ConfigError, loadConfig, type Role } from './config/env';
import { bannerBaseUrl, formatBanner, writeDemoKeyFile } from './demo/banner';
import { createLogger, resolveLogFormat, type Logger } from './lib/logger';
import { createShutdown } from './lib/shutdown';

/**
 * `npm start`: the HTTP API and every worker in one process (ROLE=all), or one of them
 * (ROLE=api | worker). SIGTERM/SIGINT stop it gracefully.
 */
export async function startGateway(roleOverride?: Role): Promise<void> {
  let config;
  try {
    config = loadConfig();
    if (roleOverride) config = { ...config, role: roleOverride };
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel, format: resolveLogFormat(config.logFormat, process.stdout.isTTY === true) });
  const fatal = (log: Logger, e: unknown, message: string) => {
    log.fatal({ err: e }, message);
    log.flush();
    setTimeout(() => process.exit(1), 100);
  };

  let redisChild: Awaited<ReturnType<typeof ensureRedis>>;
  try {
    redisChild = await ensureRedis({ url: config.redisUrl, autostart: config.redisAutostart, dataDir: config.dataDir, logger });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }

  const api = config.role !== 'worker';
  const workers = config.role !== 'api';
  // Set once the shutdown below exists: the embedded database's thread stopping is fatal.
  const databaseLost: { stop?: (e: Error) => void } = {};
  const runtime = await createRuntime(config, logger, { redis: true, http: api, workers, onDatabaseLost: (e) => databaseLost.stop?.(e) });
  // A first start on an empty embedded database seeds the demo business; its key is printed below.
  const demo = api
    ? await runtime.seedDemo().catch((e: unknown) => {
        logger.error({ err: e }, 'the demo workspace could not be seeded; the next start finishes it');
        return undefined;
      })
    : undefined;

  const closeSocket = config.databaseUrl
    ? undefined
    : await startAdminSocket(adminSocketPath(config.dataDir), runtime.services, logger);

  let server: http.Server | undefined;
  if (api && runtime.app) {
    const app = runtime.app;
    server = await new Promise<http.Server>((resolve, reject) => {
      const s = http.createServer(app);
      s.once('error', reject);
      s.listen(config.port, config.host, () => resolve(s));
    });
    // Slow clients must not hold a connection forever.
    server.headersTimeout = 30_000;
    server.requestTimeout = 60_000;
    const { port } = server.address() as AddressInfo;
    logger.info({ port, host: config.host, role: config.role }, `gateway listening on http://localhost:${port}`);
    // The Cloud API simulator calls the gateway back here (its Graph client and its webhooks).
    runtime.listening(config.host, port);
  }
  if (workers) {
    await runtime.runWorkers();
    logger.info({ workers: runtime.workers.map((w) => w.name) }, 'workers running');
  }
  // METRICS_PORT: /metrics (with /healthz, /readyz) on a listener of its own.
  let metricsServer: http.Server | undefined;
  if (runtime.metricsApp) {
    const metricsApp = runtime.metricsApp;
    metricsServer = await new Promise<http.Server>((resolve, reject) => {
      const s = http.createServer(metricsApp);
      s.once('error', reject);
      s.listen(config.metrics.port, config.host, () => resolve(s));
    });
    const { port } = metricsServer.address() as AddressInfo;
    logger.info({ port, host: config.host }, `metrics listening on http://localhost:${port}/metrics`);
  } else if (!api) {
    logger.info('no METRICS_PORT: this worker process serves no /metrics');
  }
  // The banner goes to stdout directly, never through the logger: it may hold the demo's admin
  // key, shown on the start that minted it and never again. Not at a terminal, stdout is a log
  // (a container's, a service manager's): the key goes to a file under DATA_DIR instead, and the
  // banner says where. Without a key the banner is only for people at a terminal (a log
  // collector reading stdout wants JSON lines).
  const seeded = demo?.seeded ? demo : undefined;
  const terminal = process.stdout.isTTY === true;
  let keyFile: string | undefined;
  if (seeded && !terminal) {
    try {
      keyFile = writeDemoKeyFile(config.dataDir, seeded.apiKey);
    } catch (e) {
      logger.warn(
        { err: { message: (e as Error).message } },
        'the demo admin key could not be written to DATA_DIR and is not printed (stdout is not a terminal): make a key with npm run cli -- key:create',
      );
    }
  }
  if (server && (terminal || (seeded && keyFile))) {
    await new Promise<void>((resolve) => {
      logger.flush(() => resolve());
      setTimeout(resolve, 500).unref();
    });
    const { port } = server.address() as AddressInfo;
    process.stdout.write(
      formatBanner({
        baseUrl: bannerBaseUrl(config.host, port),
        demo: seeded && {
          workspaceId: seeded.workspace.id,
          workspaceName: seeded.workspace.name,
          documents: seeded.documents,
          template: seeded.template,
          displayNumber: seeded.number.displayNumber,
          apiKey: seeded.apiKey,
        },
        keyFile,
      }),
    );
  }

  const shutdown = createShutdown({
    server,
    runtime,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    finally: [
      async () => closeSocket?.(),
      () => {
        metricsServer?.close();
        metricsServer?.closeAllConnections();
      },
      () => {
        redisChild?.kill('SIGTERM');
      },
    ],
  });
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received');
    void shutdown().then((outcome) => {
      logger.flush();
      process.exitCode = outcome === 'clean' ? 0 : 1;
      setTimeout(() => process.exit(), 50).unref();
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Stop, so that whatever supervises the process (Docker, systemd, Kubernetes) starts it again.
  databaseLost.stop = (e) => {
    logger.fatal({ err: { message: e.message } }, 'the database is gone: stopping');
    void shutdown().then(() => {
      logger.flush();
      process.exitCode = 1;
      setTimeout(() => process.exit(), 50).unref();
    });
  };
  process.on('unhandledRejection', (e) => logger.error({ err: e }, 'unhandled rejection'));
  process.on('uncaughtException', (e) => fatal(logger, e, 'uncaught exception'));
}

export function run(roleOverride?: Role): void {
  startGateway(roleOverride).catch((e: unknown) => {
    process.stderr.write(`The gateway could not start: ${(e as Error).message}\n`);
    process.exit(1);
  });
}

if (require.main === module) run();
