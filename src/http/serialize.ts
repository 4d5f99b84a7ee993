import { z } from 'zod';
import type { ErrorType } from '../lib/errors';

/**
 * What every resource response shares: ISO dates, the list envelope and the error envelope. The
 * zod schemas here are the documented shapes (the OpenAPI document is built from them) and type
 * the functions that produce them, so the document cannot drift from what is sent.
 */

/** Dates go out as ISO 8601 strings (or null). */
export function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

/** An ISO 8601 date-time as the API writes it (`Date#toISOString`, UTC). */
export const isoDateTime = () => z.iso.datetime().meta({ example: '2026-11-24T10:00:00.000Z' });

/** `{object: "list", data, has_more, next_cursor}`: `next_cursor` is the `starting_after` of the next page. */
export const listSchema = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({
      object: z.literal('list'),
      data: z.array(item),
      has_more: z.boolean().meta({ description: 'Whether another page follows.' }),
      next_cursor: z.string().nullable().meta({ description: 'Pass as `starting_after` to read the next page; null on the last page.' }),
    })
    .meta({ id });

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export function listOf<T extends { id: string }>(items: T[], hasMore: boolean): ListEnvelope<T> {
  const last = items[items.length - 1];
  return { object: 'list', data: items, has_more: hasMore, next_cursor: hasMore && last ? last.id : null };
}

/** The answer of a DELETE: the resource's object name and id, and `deleted: true`. */
export const deletedSchema = <O extends string>(object: O, id: string) =>
  z.object({ object: z.literal(object), id: z.string(), deleted: z.literal(true) }).meta({ id });

// A record, so that the compiler insists on exactly the types AppError knows.
const ERROR_TYPES: Record<ErrorType, true> = {
  invalid_request_error: true,
  authentication_error: true,
  permission_error: true,
  not_found_error: true,
  conflict_error: true,
  idempotency_error: true,
  rate_limit_error: true,
  unprocessable_error: true,
  api_error: true,
};

/**
 * `{error: {type, code, message, param?, request_id, ...}}`, rendered by the error middleware.
 * Some errors add machine-readable fields beside `code` (e.g. `required_scope` on a 403,
 * `retry_after_seconds` on a 429, `window_closed_at` on a 422 `window_closed`), so the inner
 * object is open.
 */
export const errorSchema = z
  .object({
    error: z
      .looseObject({
        type: z.enum(Object.keys(ERROR_TYPES) as [ErrorType, ...ErrorType[]]),
        code: z.string().meta({ description: 'Stable, machine-readable: `parameter_invalid`, `missing_scope`, `window_closed`, ...', example: 'parameter_invalid' }),
        message: z.string().meta({ description: 'For people; may change.', example: 'to: must be an E.164 phone number, like +16505551234' }),
        param: z.string().optional().meta({ description: 'The field (dotted path) or header the error is about.', example: 'to' }),
        request_id: z.string().meta({ description: 'Also in the `X-Request-Id` header; quote it when reporting a problem.' }),
        required_scope: z.string().optional().meta({ description: '403 `missing_scope`: the scope the key lacks.' }),
        retry_after_seconds: z.number().int().optional().meta({ description: '429: also in the `Retry-After` header.' }),
        window_closed_at: z.string().nullable().optional().meta({ description: '422 `window_closed`: when the 24-hour window closed.' }),
      })
      .meta({ description: 'Other machine-readable fields may accompany some codes.' }),
  })
  .meta({ id: 'Error', description: 'The error envelope of every 4xx and 5xx answer.' });
export type ErrorBody = z.output<typeof errorSchema>;
