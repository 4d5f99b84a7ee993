import { createHash } from 'node:crypto';
import { AppError, isAppError } from '../../lib/errors';

/**
 * Idempotency-Key (IETF draft; Stripe's behaviour): the same key with the same request replays
 * the first answer; with another request it is 422; while the first is still running it is 409.
 * Keys are per workspace and kept 24 hours. Answers of 5xx are not kept, so a retry runs again.
 */
export interface IdempotencyRecord {
  request_hash: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: unknown;
  lock_expired: boolean;
}

export interface IdempotencyRepo {
  begin(workspaceId: string, key: string, method: string, path: string, requestHash: string): Promise<{ started: true } | { started: false; existing: IdempotencyRecord }>;
  complete(workspaceId: string, key: string, status: number, body: unknown): Promise<void>;
  release(workspaceId: string, key: string): Promise<void>;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(canonical(body))}`).digest('hex');
}

export interface Answer {
  status: number;
  body: unknown;
  replayed: boolean;
}

export async function withIdempotency(
  repo: IdempotencyRepo,
  opts: { workspaceId: string; key: string | undefined; method: string; path: string; body: unknown },
  run: () => Promise<{ status: number; body: unknown }>,
): Promise<Answer> {
  if (opts.key === undefined) return { ...(await run()), replayed: false };
  if (!KEY.test(opts.key)) {
    throw new AppError({ type: 'invalid_request_error', code: 'invalid_idempotency_key', status: 400, message: 'Idempotency-Key must be 1 to 255 visible ASCII characters.', param: 'Idempotency-Key' });
  }
  const hash = requestHash(opts.method, opts.path, opts.body);
  const begun = await repo.begin(opts.workspaceId, opts.key, opts.method, opts.path, hash);
  if (!begun.started) {
    const e = begun.existing;
    if (e.request_hash !== hash) {
      throw new AppError({ type: 'idempotency_error', code: 'idempotency_key_reused', status: 422, message: 'This Idempotency-Key was used with a different request.' });
    }
    if (e.state === 'completed' && e.response_status !== null) return { status: e.response_status, body: e.response_body, replayed: true };
    throw new AppError({ type: 'conflict_error', code: 'idempotency_key_in_use', status: 409, message: 'A request with this Idempotency-Key is still being processed; retry shortly.' });
  }
  try {
    const answer = await run();
    await repo.complete(opts.workspaceId, opts.key, answer.status, answer.body);
    return { ...answer, replayed: false };
  } catch (err) {
    if (isAppError(err) && err.status < 500) {
      const body = { error: { type: err.type, code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}), ...(err.details ?? {}) } };
      await repo.complete(opts.workspaceId, opts.key, err.status, body);
    } else {
      await repo.release(opts.workspaceId, opts.key).catch(() => undefined);
    }
    throw err;
  }
}
