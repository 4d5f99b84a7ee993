import type http from 'node:http';
import proxyaddr from 'proxy-addr';
import type { IngressService } from '../domain/ingress/ingress.service';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { logRequest } from './middleware/access-log';
import { errorAnswer } from './middleware/error-handler';
import { observeRequest, type HttpMetricsRecorder } from './middleware/http-metrics';
import { MAX_WEBHOOK_BODY, type IngressGuard } from './middleware/ingress-guard';
import { resolveRequestId } from './middleware/request-id';
import { deliverWebhook } from './routes/whatsapp-webhook.route';

const PATH = '/webhooks/whatsapp';

export interface WebhookFastPathDeps {
  ingress: IngressService;
  ingressGuard: IngressGuard;
  logger: Logger;
  httpMetrics?: HttpMetricsRecorder;
  /** Express's compiled `trust proxy fn`: the source is the address req.ip would give. */
  trustProxy: (address: string, hop: number) => boolean;
}

/** Serves the request and returns true, or returns false and leaves it to express. */
export type FastPath = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

const header = (req: http.IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/**
 * POST /webhooks/whatsapp, Meta's deliveries, served on node's own request and response, before
 * express. Express's per-request machinery (its request and response objects, the router, body
 * parsing, res.json) cost the ingress about as much CPU as verifying, parsing and storing the
 * delivery did (README, Performance); this route is the gateway's hottest by far.
 *
 * The answer is the one express would give: the same request id, access-log line and metrics,
 * the same ingress guard (one instance with the express route), the same 3 MB limit and error
 * envelope, the same handling (deliverWebhook). Express keeps what this does not take: other
 * methods and paths, and compressed bodies (express.raw inflates them).
 */
export function createWebhookFastPath(deps: WebhookFastPathDeps): FastPath {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== PATH) return false;
    const encoding = header(req, 'content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    serve(req, res);
    return true;
  };

  function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const requestId = resolveRequestId(header(req, 'x-request-id'));
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      if (deps.httpMetrics) observeRequest(deps.httpMetrics, 'POST', PATH, res.statusCode, started);
      logRequest(deps.logger, { requestId, method: 'POST', route: PATH, status: res.statusCode, started });
    });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.headersSent) return;
      const text = JSON.stringify(body);
      res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
      res.end(text);
    };
    const fail = (e: unknown, headers: Record<string, string> = {}) => {
      const answer = errorAnswer(e, requestId, deps.logger);
      json(answer.status, answer.body, { ...headers, ...answer.headers });
    };

    try {
      const source = () => proxyaddr(req, deps.trustProxy);
      const signature = header(req, 'x-hub-signature-256');
      const refusal = deps.ingressGuard.check({ source, contentLength: Number(header(req, 'content-length') ?? 0), signature });
      if (refusal) {
        // Answered unread; the connection closes after the answer (Connection: close).
        fail(refusal.error, refusal.headers);
        return;
      }
      readBody(req, (error, raw) => {
        if (error) {
          fail(error, { Connection: 'close' });
          return;
        }
        deliverWebhook(deps, { raw, signature, requestId, source }).then(
          (body) => json(200, body),
          (e: unknown) => fail(e),
        );
      });
    } catch (e) {
      fail(e);
    }
  }
}

/**
 * The body, whole, up to 3 MB (a chunked body has no Content-Length for the guard to check).
 * A sender that goes away mid-body gets no answer: there is no one to answer.
 */
function readBody(req: http.IncomingMessage, done: (error: AppError | undefined, raw: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > MAX_WEBHOOK_BODY) {
      over = true;
      chunks.length = 0;
      done(new AppError({ type: 'invalid_request_error', code: 'payload_too_large', status: 413, message: 'The request body is too large (3 MB at most).' }), Buffer.alloc(0));
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
  // An aborted request emits 'error' (ECONNRESET); without a listener it would end the process.
  req.on('error', () => undefined);
}
