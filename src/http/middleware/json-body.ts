import express, { type RequestHandler } from 'express';
import { AppError } from '../../lib/errors';

/**
 * JSON bodies for the API: 1 MB at most, and a body that is not application/json is refused
 * with 415 rather than silently ignored. An empty body parses as {}.
 */
export function jsonBody(limit = '1mb'): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json') && !req.is('application/*+json')) {
      next(
        new AppError({
          type: 'invalid_request_error',
          code: 'unsupported_media_type',
          status: 415,
          message: 'Request bodies must be JSON: send Content-Type: application/json.',
        }),
      );
      return;
    }
    next();
  };
  const parse = express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] });
  const defaultEmpty: RequestHandler = (req, _res, next) => {
    if (req.body === undefined) req.body = {};
    next();
  };
  return [requireJson, parse, defaultEmpty];
}
