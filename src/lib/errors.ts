/**
 * The one application error. Routes and services throw it; the error middleware renders it as
 * `{error: {type, code, message, param?, request_id}}` with `status`. `retryable` tells queue
 * workers whether another attempt could succeed.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'unprocessable_error'
  | 'api_error';

export interface AppErrorOptions {
  type: ErrorType;
  code: string;
  status: number;
  message: string;
  param?: string;
  cause?: unknown;
  retryable?: boolean;
  /** Extra machine-readable fields rendered beside code and message (never secrets). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly type: ErrorType;
  readonly code: string;
  readonly status: number;
  readonly param: string | undefined;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(options: AppErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.type = options.type;
    this.code = options.code;
    this.status = options.status;
    this.param = options.param;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export const errors = {
  invalidRequest: (message: string, param?: string, code = 'invalid_request') =>
    new AppError({ type: 'invalid_request_error', code, status: 400, message, param }),
  unauthenticated: () =>
    new AppError({
      type: 'authentication_error',
      code: 'invalid_api_key',
      status: 401,
      message: 'A valid API key is required: send it as "Authorization: Bearer gw_live_..." (or gw_test_...).',
    }),
  forbidden: (scope: string) =>
    new AppError({
      type: 'permission_error',
      code: 'missing_scope',
      status: 403,
      message: `This API key lacks the scope "${scope}".`,
      details: { required_scope: scope },
    }),
  notFound: (resource: string, id?: string) =>
    new AppError({
      type: 'not_found_error',
      code: 'resource_missing',
      status: 404,
      message: id === undefined ? `No such ${resource}.` : `No such ${resource}: "${id}".`,
      param: id === undefined ? undefined : 'id',
    }),
  conflict: (code: string, message: string) => new AppError({ type: 'conflict_error', code, status: 409, message }),
  unavailable: (message: string, cause?: unknown) =>
    new AppError({ type: 'api_error', code: 'service_unavailable', status: 503, message, cause, retryable: true }),
};

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
