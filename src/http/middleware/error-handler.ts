import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, isAppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { requestIdOf } from './request-id';

/** body-parser and raw-body signal client errors with `type`; map them to our envelope. */
function fromBodyParser(err: { type?: string; status?: number }): AppError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new AppError({
        type: 'invalid_request_error',
        code: 'payload_too_large',
        status: 413,
        message: 'The request body is too large.',
      });
    case 'entity.parse.failed':
      return new AppError({
        type: 'invalid_request_error',
        code: 'invalid_json',
        status: 400,
        message: 'The request body is not valid JSON.',
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError({
        type: 'invalid_request_error',
        code: 'unsupported_media_type',
        status: 415,
        message: 'Unsupported content encoding or charset.',
      });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError({
        type: 'invalid_request_error',
        code: 'invalid_request',
        status: 400,
        message: 'The request body could not be read.',
      });
    default:
      return undefined;
  }
}

/** The error envelope an error is answered with: its status, headers and body. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: Record<string, unknown> };
}

/** Renders any error as our envelope; errors that are our fault (5xx, unknown) are logged. */
export function errorAnswer(err: unknown, requestId: string, logger: Logger): ErrorAnswer {
  let appError = isAppError(err) ? err : fromBodyParser(err as { type?: string });
  if (!appError) {
    const status = (err as { status?: number; statusCode?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      appError = new AppError({ type: 'invalid_request_error', code: 'invalid_request', status, message: 'Invalid request.' });
    }
  }
  if (!appError || appError.status >= 500) {
    logger.error({ err, request_id: requestId }, 'request failed');
  }
  const e =
    appError ??
    new AppError({
      type: 'api_error',
      code: 'internal_error',
      status: 500,
      message: `Something went wrong on our side. Quote request id ${requestId} when you report it.`,
    });
  return {
    status: e.status,
    headers: e.status === 503 ? { 'Retry-After': '5' } : {},
    body: {
      error: {
        type: e.type,
        code: e.code,
        message: e.message,
        ...(e.param ? { param: e.param } : {}),
        ...(e.details ?? {}),
        request_id: requestId,
      },
    },
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const answer = errorAnswer(err, requestIdOf(res), logger);
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.status(answer.status).json(answer.body);
  };
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(
      new AppError({
        type: 'not_found_error',
        code: 'route_not_found',
        status: 404,
        message: `No route ${req.method} ${req.path}.`,
      }),
    );
  };
}
