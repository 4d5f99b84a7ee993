import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import type { DeliveryAttempt, WebhookSender } from '../../domain/webhooks/webhooks.port';
import { checkLiteralHost, parseWebhookUrl, pinnedLookup, systemResolver, UrlRefusedError, type Resolver, type UrlPolicy } from './ssrf';

const EXCERPT_BYTES = 1024;

/**
 * Sends one Standard Webhooks request: POST with webhook-id / webhook-timestamp /
 * webhook-signature (one `v1,` signature per secret, space separated, made by the
 * `standardwebhooks` package). Redirects are not followed (a 3xx is a failure), the whole
 * exchange has a deadline, and only the first KB of the answer is read.
 */
export function createWebhookSender(deps: { policy: UrlPolicy; timeoutMs: number; resolve?: Resolver; userAgent?: string }): WebhookSender {
  const resolve = deps.resolve ?? systemResolver;
  const lookup = pinnedLookup(deps.policy, resolve);
  return {
    async send({ url: raw, id, body, secrets, now }): Promise<DeliveryAttempt> {
      const started = Date.now();
      let url: URL;
      try {
        url = parseWebhookUrl(raw, deps.policy);
        checkLiteralHost(url, deps.policy);
      } catch (e) {
        return { statusCode: null, latencyMs: 0, excerpt: null, error: `refused: ${(e as Error).message}` };
      }
      const timestamp = now ?? new Date();
      const signature = secrets.map((s) => new Webhook(s).sign(id, timestamp, body)).join(' ');
      const headers = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': deps.userAgent ?? 'wa-agent-gateway-webhooks/1',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      };
      return new Promise<DeliveryAttempt>((resolvePromise) => {
        let settled = false;
        const finish = (a: Omit<DeliveryAttempt, 'latencyMs'>) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolvePromise({ ...a, latencyMs: Date.now() - started });
        };
        const request = (url.protocol === 'https:' ? https : http).request(url, {
          method: 'POST',
          headers,
          // One connection per attempt: the lookup (and its check) runs for every connection.
          agent: false,
          lookup: lookup as never,
        });
        const timer = setTimeout(() => {
          request.destroy(new Error(`timed out after ${deps.timeoutMs} ms`));
        }, deps.timeoutMs);
        request.on('response', (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () => finish({ statusCode: res.statusCode ?? null, excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8'), error: null });
          res.on('data', (chunk: Buffer) => {
            if (size >= EXCERPT_BYTES) return;
            chunks.push(chunk);
            size += chunk.length;
            if (size >= EXCERPT_BYTES) {
              done();
              res.destroy();
            }
          });
          res.on('end', done);
          res.on('error', done);
          res.on('close', done);
        });
        request.on('error', (e: NodeJS.ErrnoException) => {
          const refused = e instanceof UrlRefusedError || e.code === 'EWEBHOOKREFUSED';
          finish({ statusCode: null, excerpt: null, error: refused ? `refused: ${e.message}` : e.message });
        });
        request.end(body);
      });
    },
  };
}
