import fs from 'node:fs';
import http from 'node:http';
import { isAppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { isCommandName, runCommand, type CommandServices } from './commands';

/**
 * While a gateway owns the embedded database, `npm run cli` cannot open it; it sends its command
 * here instead. A unix socket under DATA_DIR with mode 0600: only the same OS user can use it.
 */
export async function startAdminSocket(socketPath: string, services: CommandServices, logger: Logger): Promise<() => Promise<void>> {
  fs.rmSync(socketPath, { force: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const reply = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        try {
          const { command, options } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            command: string;
            options: unknown;
          };
          if (req.method !== 'POST' || !isCommandName(command)) {
            reply(404, { error: { message: `unknown command ${String(command)}` } });
            return;
          }
          reply(200, await runCommand(services, command, options));
        } catch (e) {
          if (isAppError(e)) reply(e.status, { error: { message: e.message } });
          else {
            logger.error({ err: e }, 'admin command failed');
            reply(500, { error: { message: 'the command failed; see the gateway log' } });
          }
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => {
        fs.rmSync(socketPath, { force: true });
        resolve();
      });
    });
}

export async function sendAdminCommand(socketPath: string, command: string, options: unknown): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify({ command, options });
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: '/cli', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
