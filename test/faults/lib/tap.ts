import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy on loopback in front of an emulator (Graph API, OpenAI), one per gateway
 * process, so that the test knows which process made a call and can act at an exact point of
 * it: before the request reaches the emulator, or after the emulator answered and before the
 * process gets the answer (a kill there is "between Meta's answer and our record of it").
 */
export interface TapCall {
  method: string;
  path: string;
  body: Buffer;
  /** When the request reached the tap, and when its answer was relayed (undefined: not yet, or never). */
  at: number;
  relayedAt?: number;
  /** The upstream's answer, once it came. */
  status?: number;
  answer?: Buffer;
}

export interface TapHooks {
  /** Before forwarding: 'hold' never forwards nor answers (the caller is about to die). */
  beforeForward?(call: TapCall): 'forward' | 'hold' | Promise<'forward' | 'hold'>;
  /** After the upstream answered, before the answer is relayed: 'hold' never relays it. */
  beforeRelay?(call: TapCall): 'relay' | 'hold' | Promise<'relay' | 'hold'>;
  /** Right after the answer was written to the caller. */
  afterRelay?(call: TapCall): void;
}

export interface Tap {
  url: string;
  calls: TapCall[];
  setHooks(hooks: TapHooks): void;
  close(): Promise<void>;
}

export async function startTap(target: string): Promise<Tap> {
  const upstream = new URL(target);
  const calls: TapCall[] = [];
  const sockets = new Set<Socket>();
  let hooks: TapHooks = {};
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call: TapCall = { method: req.method ?? 'GET', path: req.url ?? '/', body: Buffer.concat(chunks), at: Date.now() };
      calls.push(call);
      void (async () => {
        if ((await hooks.beforeForward?.(call)) === 'hold') return;
        const headers = { ...req.headers, host: upstream.host };
        delete headers.connection;
        const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined>((resolve) => {
          const up = http.request({ host: upstream.hostname, port: upstream.port, method: call.method, path: call.path, headers, agent }, (r) => {
            const parts: Buffer[] = [];
            r.on('data', (c: Buffer) => parts.push(c));
            r.on('end', () => resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(parts) }));
            r.on('error', () => resolve(undefined));
          });
          up.on('error', () => resolve(undefined));
          up.end(call.body);
        });
        if (!answer) {
          res.destroy();
          return;
        }
        call.status = answer.status;
        call.answer = answer.body;
        if ((await hooks.beforeRelay?.(call)) === 'hold') return;
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': answer.headers['content-type'] ?? 'application/json', 'content-length': String(answer.body.length) });
        res.end(answer.body, () => {
          call.relayedAt = Date.now();
          hooks.afterRelay?.(call);
        });
      })().catch(() => res.destroy());
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    setHooks(h) {
      hooks = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
