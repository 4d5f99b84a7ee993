/**
 * Meta's error codes and what to do about them (shared/reference/whatsapp-cloud-api.md, section
 * 7). Logic keys on the code, never on titles or HTTP status.
 */
export type ErrorClass = 'retryable' | 'pair_rate_limited' | 'permanent';

const RETRYABLE = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131057]);
const PAIR_RATE = 131056;

export function classifyGraphError(code: number | undefined, httpStatus: number | undefined): ErrorClass {
  if (code === PAIR_RATE) return 'pair_rate_limited';
  if (code !== undefined && RETRYABLE.has(code)) return 'retryable';
  if (code === undefined) {
    // No Meta error body: a proxy, a timeout, a reset. Server-side trouble is worth retrying.
    return httpStatus === undefined || httpStatus >= 500 || httpStatus === 429 ? 'retryable' : 'permanent';
  }
  if (httpStatus !== undefined && httpStatus >= 500) return 'retryable';
  return 'permanent';
}

export class GraphApiError extends Error {
  readonly code: number | undefined;
  readonly details: string | undefined;
  readonly httpStatus: number | undefined;
  readonly errorClass: ErrorClass;
  readonly fbtraceId: string | undefined;
  /**
   * False only when the request certainly never reached Meta (connection refused, DNS failure).
   * A timeout or a reset after sending may have been processed: for a send, its outcome is unknown.
   */
  readonly mayHaveReachedMeta: boolean;

  constructor(opts: {
    message: string;
    code?: number;
    details?: string;
    httpStatus?: number;
    fbtraceId?: string;
    cause?: unknown;
    mayHaveReachedMeta?: boolean;
  }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GraphApiError';
    this.code = opts.code;
    this.details = opts.details;
    this.httpStatus = opts.httpStatus;
    this.fbtraceId = opts.fbtraceId;
    this.errorClass = classifyGraphError(opts.code, opts.httpStatus);
    this.mayHaveReachedMeta = opts.mayHaveReachedMeta ?? true;
  }

  /** No answer from Meta, and the request may have been processed (timeout, reset). */
  get outcomeUnknown(): boolean {
    return this.httpStatus === undefined && this.mayHaveReachedMeta;
  }

  get retryable(): boolean {
    return this.errorClass !== 'permanent';
  }
}
