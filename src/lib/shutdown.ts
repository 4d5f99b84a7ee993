import type http from 'node:http';
import type { Logger } from './logger';

export interface ShutdownTarget {
  /** Ends long-lived responses (live streams) so that the HTTP server can drain. */
  closeStreams?(): void;
  /** Stop taking jobs and wait for the running ones; with force, abandon them (they stall and retry). */
  close(opts?: { force?: boolean }): Promise<void>;
}

export interface ShutdownOptions {
  server?: http.Server;
  runtime: ShutdownTarget;
  timeoutMs: number;
  logger: Logger;
  /** Run last (admin socket, a Redis we started, ...). */
  finally?: (() => Promise<void> | void)[];
}

/**
 * Graceful stop: stop accepting connections, let in-flight requests and jobs finish within the
 * deadline, then close pools. Returns 'clean' when everything finished in time, 'forced' when the
 * deadline cut work short (BullMQ hands abandoned jobs to another worker after the stall check).
 */
export function createShutdown(opts: ShutdownOptions): () => Promise<'clean' | 'forced'> {
  let running: Promise<'clean' | 'forced'> | undefined;
  return () => {
    running ??= (async () => {
      const { server, runtime, logger } = opts;
      logger.info({ timeout_ms: opts.timeoutMs }, 'shutting down: no new requests or jobs');
      let idle: NodeJS.Timeout | undefined;
      const serverClosed = server
        ? new Promise<void>((resolve) => {
            // Requests still arriving on open keep-alive connections are served (the work they
            // carry is not refused) and told to close their connection.
            server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
              if (!res.headersSent) res.setHeader('connection', 'close');
            });
            server.close(() => resolve());
            // Keep-alive connections with no request in flight would hold close() open; those
            // in flight are closed as soon as their response has gone.
            server.closeIdleConnections();
            idle = setInterval(() => server.closeIdleConnections(), 50).unref();
          }).finally(() => clearInterval(idle))
        : Promise.resolve();
      // In-flight requests need the database and Redis, so they finish before the runtime closes
      // those (closed under them, a webhook delivery being stored was answered 503). Live streams
      // would hold the server open: they end first. Workers stop after the HTTP drain.
      runtime.closeStreams?.();
      const graceful = serverClosed.then(() => runtime.close()).then(() => 'clean' as const);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'forced'>((resolve) => {
        timer = setTimeout(() => resolve('forced'), opts.timeoutMs);
      });
      let outcome = await Promise.race([graceful, deadline]);
      clearTimeout(timer);
      if (outcome === 'forced') {
        logger.warn('shutdown deadline reached: closing remaining connections and jobs');
        server?.closeAllConnections();
        // A worker already closing keeps waiting for its job whatever we ask now; give the forced
        // close a moment and leave: the job's lock expires and another worker takes it over.
        await Promise.race([
          runtime.close({ force: true }).catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
        ]);
        outcome = 'forced';
      }
      for (const fn of opts.finally ?? []) await Promise.resolve(fn()).catch(() => undefined);
      logger.info({ outcome }, 'shutdown complete');
      return outcome;
    })();
    return running;
  };
}
