import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is safe to log, else a new one. */
export function resolveRequestId(incoming: string | undefined): string {
  return incoming && SAFE_ID.test(incoming) ? incoming : `req_${randomUUID().replace(/-/g, '')}`;
}

/** Accepts a caller's X-Request-Id when it is safe to log, else makes one; echoes it back. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const id = resolveRequestId(req.get('x-request-id'));
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

export function requestIdOf(res: { locals: Record<string, unknown> }): string {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : 'unknown';
}
