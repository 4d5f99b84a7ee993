import type { RequestHandler } from 'express';
import type { Logger } from '../../lib/logger';
import { requestIdOf } from './request-id';

/**
 * One line per request. Only the method, the route pattern (ids and query strings can carry
 * phone numbers or hub.verify_token, so the raw URL is not logged), status and duration.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      // Nothing is built for a line the logger would drop (LOG_LEVEL=warn drops 2xx-4xx).
      if (!logger.isLevelEnabled(level)) return;
      const route = (req.route as { path?: string } | undefined)?.path;
      const path = route ? `${req.baseUrl}${route}` : req.baseUrl || 'unmatched';
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const id = requestIdOf(res);
      logger[level](
        {
          request_id: id,
          // A request's correlation id is its request id; jobs it starts carry it on (see queues.ts).
          correlation_id: id,
          method: req.method,
          route: path,
          status: res.statusCode,
          duration_ms: Math.round(durationMs * 10) / 10,
          key_id: (res.locals.principal as { keyId?: string } | undefined)?.keyId,
        },
        'request',
      );
    });
    next();
  };
}
