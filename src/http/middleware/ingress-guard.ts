import type { Request, RequestHandler } from 'express';
import type { RateLimiter, RateLimitPolicy } from '../../domain/limits/rate-limiter.port';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';

/** Meta's header: `sha256=` and 64 hex digits. Anything else cannot be a delivery from Meta. */
const SIGNATURE = /^sha256=[0-9a-fA-F]{64}$/;
export const MAX_WEBHOOK_BODY = 3 * 1024 * 1024;
/** A source that delivered a correctly signed webhook this recently is never refused unread. */
const VOUCHED_MS = 10 * 60_000;
const MAX_TRACKED = 10_000;

/** What the guard looks at before the body is read; `source` is worked out only when needed. */
export interface IngressRequest {
  source(): string;
  /** The declared Content-Length (0 when absent). */
  contentLength: number;
  signature: string | undefined;
}

/** A refusal: the error to answer with, and the headers that go with it. */
export interface IngressRefusal {
  error: AppError;
  headers: Record<string, string>;
}

export interface IngressGuard {
  /** Before the body is read: refuses, unread, what cannot be from Meta. */
  check(request: IngressRequest): IngressRefusal | undefined;
  /** The same as express middleware. */
  screen: RequestHandler;
  /** After verification: a bad signature counts against its source, a good one vouches for it. */
  settle(source: string, outcome: 'verified' | 'rejected'): void;
}

/** The address a request comes from (X-Forwarded-For parsed under TRUST_PROXY, as req.ip). */
export const requestSource = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * Protects POST /webhooks/whatsapp from floods of unsigned or forged requests without ever
 * slowing Meta down:
 * - a missing or malformed X-Hub-Signature-256, or a declared body over 3 MB, is refused before
 *   a byte of the body is read (and the connection closed);
 * - every failed signature is taken from its source's allowance (GCRA in Redis, shared by all API
 *   processes); a source over it is refused unread with 429 until the allowance refills;
 * - a source that delivered a correctly signed webhook in the last 10 minutes is never counted
 *   nor refused, so a forger sharing Meta's path (a proxy without TRUST_PROXY) cannot shut Meta
 *   out. Meta's own deliveries never fail a signature check while the app secret is right.
 * Verification itself queries nothing (the ingress keeps the numbers' secrets in memory).
 */
export function createIngressGuard(deps: { limiter?: RateLimiter; failuresPerMinute: number; logger: Logger; now?: () => number }): IngressGuard {
  const now = deps.now ?? Date.now;
  const policy: RateLimitPolicy | undefined =
    deps.limiter && deps.failuresPerMinute > 0 ? { name: 'webhook-ingress-failures', limit: deps.failuresPerMinute, windowMs: 60_000 } : undefined;
  /** Source -> refused until (ms). */
  const penalties = new Map<string, number>();
  /** Source -> last correctly signed delivery (ms). */
  const vouched = new Map<string, number>();
  const isVouched = (source: string) => (vouched.get(source) ?? -Infinity) + VOUCHED_MS > now();
  const track = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= MAX_TRACKED && !map.has(key)) map.delete(map.keys().next().value as string);
    map.delete(key);
    map.set(key, value);
  };

  // The body is left unread: closing the connection stops the sender from streaming it.
  const refuse = (error: AppError, headers: Record<string, string> = {}): IngressRefusal => ({ error, headers: { ...headers, Connection: 'close' } });

  function countFailure(source: string) {
    if (!policy || !deps.limiter || isVouched(source)) return;
    deps.limiter.take(`ingress:${source}`, policy).then(
      (d) => {
        if (d.allowed) return;
        track(penalties, source, now() + Math.max(1_000, d.retryAfterMs));
        deps.logger.warn({ source, limit: policy.limit }, 'webhook source refused: too many failed signatures');
      },
      (e: unknown) => deps.logger.debug({ err: e }, 'webhook failure not counted: rate limiter unavailable'),
    );
  }

  function check(request: IngressRequest): IngressRefusal | undefined {
    // The source (X-Forwarded-For under TRUST_PROXY) is worked out only when some source is
    // being refused or this request fails the check.
    const until = penalties.size > 0 ? penalties.get(request.source()) : undefined;
    if (until !== undefined) {
      const source = request.source();
      if (until > now() && !isVouched(source)) {
        const retry = Math.max(1, Math.ceil((until - now()) / 1_000));
        return refuse(
          new AppError({
            type: 'rate_limit_error',
            code: 'rate_limited',
            status: 429,
            message: `Too many deliveries with a bad signature from this address. Retry after ${retry} s.`,
          }),
          { 'Retry-After': String(retry) },
        );
      }
      penalties.delete(source);
    }
    if (request.contentLength > MAX_WEBHOOK_BODY) {
      return refuse(new AppError({ type: 'invalid_request_error', code: 'payload_too_large', status: 413, message: 'The request body is too large (3 MB at most).' }));
    }
    if (!SIGNATURE.test(request.signature?.trim() ?? '')) {
      countFailure(request.source());
      return refuse(
        new AppError({
          type: 'authentication_error',
          code: 'invalid_signature',
          status: 401,
          message: 'X-Hub-Signature-256 is missing or does not match the app secret.',
        }),
      );
    }
    return undefined;
  }

  return {
    check,
    screen(req, res, next) {
      const refusal = check({ source: () => requestSource(req), contentLength: Number(req.get('content-length') ?? 0), signature: req.get('x-hub-signature-256') });
      if (!refusal) return next();
      for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
      throw refusal.error;
    },
    settle(source, outcome) {
      if (outcome === 'verified') {
        track(vouched, source, now());
        penalties.delete(source);
      } else {
        countFailure(source);
      }
    },
  };
}
