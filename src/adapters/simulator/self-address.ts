import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/logger';

/**
 * Where this gateway answers HTTP, for the simulator's two directions: the gateway's Graph client
 * calls the simulator at `<url>/sandbox/graph`, and the simulator posts webhooks to
 * `<url>/webhooks/whatsapp`. In order of preference:
 * - SANDBOX_GATEWAY_URL, when set (API and workers on different hosts);
 * - the address the HTTP server listens on, announced by main.ts (a wildcard host becomes 127.0.0.1);
 * - a process with the HTTP app that does not listen (the gateway embedded in a test): the app is
 *   served on a loopback port of its own, opened on first use;
 * - a worker-only process: http://127.0.0.1:$PORT, the API beside it.
 */
export interface SelfAddress {
  url(): Promise<string>;
  listening(host: string, port: number): void;
  close(): Promise<void>;
}

export function loopbackUrl(host: string, port: number): string {
  const h = host.trim();
  if (h === '' || h === '0.0.0.0' || h === '::' || h === 'localhost') return `http://127.0.0.1:${port}`;
  return h.includes(':') ? `http://[${h}]:${port}` : `http://${h}:${port}`;
}

export function createSelfAddress(opts: { configuredUrl?: string; app: () => RequestListener | undefined; port: number; logger: Logger }): SelfAddress {
  let announced: string | undefined;
  let own: Promise<{ server: http.Server; url: string }> | undefined;

  return {
    async url() {
      if (opts.configuredUrl) return opts.configuredUrl;
      if (announced) return announced;
      const app = opts.app();
      if (!app) return loopbackUrl('127.0.0.1', opts.port);
      own ??= new Promise((resolve, reject) => {
        const server = http.createServer(app);
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          opts.logger.debug({ port }, 'sandbox: serving the gateway on a loopback port for the Cloud API simulator');
          resolve({ server, url: `http://127.0.0.1:${port}` });
        });
      });
      return (await own).url;
    },
    listening(host, port) {
      announced = loopbackUrl(host, port);
    },
    async close() {
      const s = await own?.catch(() => undefined);
      if (!s) return;
      s.server.closeAllConnections();
      await new Promise<void>((resolve) => s.server.close(() => resolve()));
    },
  };
}
