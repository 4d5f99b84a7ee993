import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminSocketPath } from './adapters/postgres/embedded-lock';
import { ensureRedis } from './adapters/redis/ensure-redis';
import { startAdminSocket } from './cli/admin-socket';
import { createRuntime } from './composition';
import { ConfigError, loadConfig, type Role } from './config/env';
import { createLogger, type Logger } from './lib/logger';
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
  const logger = createLogger({ level: config.logLevel });
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
  const runtime = await createRuntime(config, logger, { redis: true, http: api, workers });

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
  }
  if (workers) {
    await runtime.runWorkers();
    logger.info({ workers: runtime.workers.map((w) => w.name) }, 'workers running');
  }

  const shutdown = createShutdown({
    server,
    runtime,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    finally: [
      async () => closeSocket?.(),
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
