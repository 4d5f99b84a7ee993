import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createRuntime } from '../../src/composition';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/lib/logger';
import { freePort } from '../../test/support/net';
import { ROOT, startGateway, startServer, stop } from './processes';
import { treeCpuMs } from './process-cpu';

/**
 * The whole gateway (HTTP API and every worker) under test, either as its own process
 * (ROLE=all, as deployed) or inside the bench's process and event loop.
 */
export interface GatewayHost {
  port: number;
  stop(): Promise<void>;
  /** Its log lines so far (for a failure report). */
  output(): string;
  /** CPU time (ms) it has used so far; undefined in-process, where it cannot be told apart. */
  cpuMs(): number | undefined;
}

export async function inProcessGateway(env: Record<string, string>): Promise<GatewayHost> {
  const config = loadConfig(env);
  const lines: string[] = [];
  // The logs are serialized as in production, then kept out of the bench's own output.
  const destination = {
    write: (l: string) => {
      lines.push(l);
      if (lines.length > 2000) lines.shift();
    },
  };
  const rt = await createRuntime(config, createLogger({ level: config.logLevel, destination }), { redis: true, http: true, workers: true });
  const server = http.createServer(rt.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  await rt.runWorkers();
  return {
    port: (server.address() as AddressInfo).port,
    output: () => lines.join(''),
    cpuMs: () => undefined,
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await rt.close();
    },
  };
}

/**
 * `cpuProfileDir`: a V8 CPU profile of the gateway, written when it stops (node refuses
 * --cpu-prof in NODE_OPTIONS, tsx passes it on; readiness is then read from the info log line).
 */
export async function childGateway(env: Record<string, string>, cpuProfileDir?: string): Promise<GatewayHost> {
  const childEnv = { ...env, ROLE: 'all', REDIS_AUTOSTART: 'false' };
  const gw = cpuProfileDir
    ? await startServer(
        ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfileDir)}`, path.join(ROOT, 'src/main.ts')],
        { ...childEnv, LOG_LEVEL: 'info', PORT: String(await freePort()) },
        /gateway listening on http:\/\/localhost:(\d+)/,
      )
    : await startGateway(childEnv);
  const pid = gw.child.pid as number;
  return { port: gw.port, output: gw.output, cpuMs: () => treeCpuMs(pid), stop: async () => void (await stop(gw.child)) };
}
