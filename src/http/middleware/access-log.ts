import type { RequestHandler } from 'express';
import type { Logger } from '../../lib/logger';
import { requestIdOf } from './request-id';

export interface RequestLine {
  requestId: string;
  method: string;
  /** The route pattern, never the URL. */
  route: string;
  status: number;
  /** process.hrtime.bigint() when the request arrived. */
  started: bigint;
  keyId?: string;
}

/** The access-log line of one request (at error level for 5xx, else info); nothing below the level. */
export function logRequest(logger: Logger, line: RequestLine): void {
  const level = line.status >= 500 ? 'error' : 'info';
  // Nothing is built for a line the logger would drop (LOG_LEVEL=warn drops 2xx-4xx).
  if (!logger.isLevelEnabled(level)) return;
  const durationMs = Number(process.hrtime.bigint() - line.started) / 1e6;
  logger[level](
    {
      request_id: line.requestId,
      // A request's correlation id is its request id; jobs it starts carry it on (see queues.ts).
      correlation_id: line.requestId,
      method: line.method,
      route: line.route,
      status: line.status,
      duration_ms: Math.round(durationMs * 10) / 10,
      key_id: line.keyId,
    },
    'request',
  );
}

/**
 * One line per request. Only the method, the route pattern (ids and query strings can carry
 * phone numbers or hub.verify_token, so the raw URL is not logged), status and duration.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      logRequest(logger, {
        requestId: requestIdOf(res),
        method: req.method,
        route: route ? `${req.baseUrl}${route}` : req.baseUrl || 'unmatched',
        status: res.statusCode,
        started,
        keyId: (res.locals.principal as { keyId?: string } | undefined)?.keyId,
      });
    });
    next();
  };
}
