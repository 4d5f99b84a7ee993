import type { Request, RequestHandler, Response } from 'express';
import type { RateLimitDecision, RateLimitPolicy, RateLimiter } from '../../domain/limits/rate-limiter.port';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { principalOf } from './auth';

export interface RateLimitPolicies {
  /** Every request of a key (none when undefined). */
  requests?: RateLimitPolicy;
  /** Requests that send a WhatsApp message, on top of `requests`. */
  sends?: RateLimitPolicy;
}

const SEND_ROUTES = [/^\/v1\/messages\/?$/, /^\/v1\/conversations\/[^/]+\/reply\/?$/];
const isSend = (req: Request) => req.method === 'POST' && SEND_ROUTES.some((r) => r.test(req.baseUrl + req.path));

/**
 * Per API key limits (after authentication). Headers follow the IETF draft (RateLimit-Policy,
 * RateLimit) and the common X-RateLimit-* trio; a refused request gets 429 with Retry-After.
 * Answers 401 and 403 do not count: a 401 never gets here, a 403 is refunded when it is sent.
 * If Redis does not answer, requests go through (the limit protects; it must not take the API down).
 */
export function rateLimit(deps: { limiter: RateLimiter; policies: RateLimitPolicies; logger: Logger }): RequestHandler {
  let lastWarned = 0;
  return async (req, res, next) => {
    const policies = [deps.policies.requests, isSend(req) ? deps.policies.sends : undefined].filter((p): p is RateLimitPolicy => p !== undefined);
    if (policies.length === 0) return next();
    const key = principalOf(res).keyId;
    let decisions: RateLimitDecision[];
    try {
      decisions = await Promise.all(policies.map((p) => deps.limiter.take(key, p)));
    } catch (e) {
      if (Date.now() - lastWarned > 10_000) {
        lastWarned = Date.now();
        deps.logger.warn({ err: { message: (e as Error).message } }, 'rate limiter unavailable: requests are not limited');
      }
      return next();
    }
    const refund = (which: RateLimitPolicy[]) => Promise.all(which.map((p) => deps.limiter.refund(key, p))).catch(() => undefined);
    setHeaders(res, policies, decisions);
    const refusedAt = decisions.findIndex((d) => !d.allowed);
    if (refusedAt >= 0) {
      // The policies that let it through give their request back: it was not served.
      void refund(policies.filter((_, i) => decisions[i]?.allowed));
      const retry = Math.max(1, Math.ceil((decisions[refusedAt]?.retryAfterMs ?? 1_000) / 1_000));
      res.setHeader('Retry-After', String(retry));
      const policy = policies[refusedAt] as RateLimitPolicy;
      throw new AppError({
        type: 'rate_limit_error',
        code: 'rate_limited',
        status: 429,
        message: `Too many ${policy.name === 'sends' ? 'sends' : 'requests'} for this API key: at most ${policy.limit} every ${policy.windowMs / 1000} s. Retry after ${retry} s.`,
        details: { policy: policy.name, limit: policy.limit, window_seconds: policy.windowMs / 1000, retry_after_seconds: retry },
      });
    }
    res.on('finish', () => {
      if (res.statusCode === 401 || res.statusCode === 403) void refund(policies);
    });
    next();
  };
}

function setHeaders(res: Response, policies: RateLimitPolicy[], decisions: RateLimitDecision[]) {
  // The tightest policy speaks for the request in the single-valued headers.
  let tight = 0;
  decisions.forEach((d, i) => {
    if (d.remaining < (decisions[tight] as RateLimitDecision).remaining) tight = i;
  });
  const d = decisions[tight] as RateLimitDecision;
  const resetS = Math.ceil(d.resetMs / 1000);
  res.setHeader('RateLimit-Policy', policies.map((p) => `${p.limit};w=${Math.round(p.windowMs / 1000)}`).join(', '));
  res.setHeader('RateLimit', `limit=${d.limit}, remaining=${d.remaining}, reset=${resetS}`);
  res.setHeader('X-RateLimit-Limit', String(d.limit));
  res.setHeader('X-RateLimit-Remaining', String(d.remaining));
  res.setHeader('X-RateLimit-Reset', String(Math.ceil((Date.now() + d.resetMs) / 1000)));
}
