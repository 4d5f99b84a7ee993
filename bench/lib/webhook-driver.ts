import http from 'node:http';
import { metaSerialize, sign, textPayload } from '../../test/support/meta';

/**
 * An open-loop webhook driver: one signed text webhook from a new customer every 1/rate seconds,
 * on schedule whether or not the gateway has answered the earlier ones (a closed loop would slow
 * down with the gateway and hide its queueing). Bodies are built and signed before the clock
 * starts; `sentAt` is taken right before the request is written.
 */
export interface Sent {
  waId: string;
  sentAt: number;
  /** When the 200 came back (undefined: no answer), and its status. */
  ackAt: number | undefined;
  status: number;
}

export async function driveWebhooks(opts: {
  url: string;
  appSecret: string;
  phoneNumberId: string;
  waIds: string[];
  rate: number;
  text: (i: number) => string;
}): Promise<Sent[]> {
  const target = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const bodies = opts.waIds.map((waId, i) => {
    const raw = metaSerialize(textPayload({ phoneNumberId: opts.phoneNumberId, from: waId, name: `Customer ${i}`, body: opts.text(i) }));
    return { waId, raw, signature: sign(raw, opts.appSecret) };
  });
  const interval = 1000 / opts.rate;
  const start = Date.now() + 20;
  const inFlight: Promise<Sent>[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const wait = start + i * interval - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const b = bodies[i] as (typeof bodies)[number];
    inFlight.push(
      new Promise<Sent>((resolve) => {
        const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b.raw), 'x-hub-signature-256': b.signature };
        const sentAt = Date.now();
        const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve({ waId: b.waId, sentAt, ackAt: Date.now(), status: res.statusCode ?? 0 }));
        });
        req.on('error', () => resolve({ waId: b.waId, sentAt, ackAt: undefined, status: 0 }));
        req.end(b.raw);
      }),
    );
  }
  const sent = await Promise.all(inFlight);
  agent.destroy();
  return sent;
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function summarize(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.at(-1) ?? 0 };
}
