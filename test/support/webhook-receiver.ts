import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got: headers, the raw body, when. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/**
 * A subscriber's HTTP server on 127.0.0.1. `answer(path, nth)` decides the status of the nth
 * request (1-based) to a path; the default is 200.
 */
export interface WebhookReceiver {
  url: (path: string) => string;
  port: number;
  received: Received[];
  to: (path: string) => Received[];
  connections: () => number;
  answer: (fn: (path: string, nth: number) => { status: number; headers?: Record<string, string>; body?: string } | 'hang') => void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let connections = 0;
  let decide: Parameters<WebhookReceiver['answer']>[0] = () => ({ status: 200, body: 'ok' });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const a = decide(path, received.filter((r) => r.path === path).length);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    port,
    received,
    to: (path) => received.filter((r) => r.path === path),
    connections: () => connections,
    answer: (fn) => {
      decide = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { waitFor } from './wait';
