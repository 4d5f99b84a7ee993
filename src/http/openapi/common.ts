import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import type { Scope } from '../../domain/keys/scopes';
import { ID_PREFIXES, type IdKind } from '../../lib/ids';
import { errorSchema } from '../serialize';

/**
 * The pieces every operation of the document shares: the error responses (one component each,
 * all with the error envelope), the rate-limit and request-id headers, the Idempotency-Key
 * parameter, path ids, and `apiOperation`, which turns a short description of a /v1 operation
 * into an OpenAPI operation with its security, scope and every error status it can answer.
 */

const header = (id: string, description: string, example?: string) =>
  z.string().meta({ description, ...(example === undefined ? {} : { example }), header: { id } });
/** A header that is not always sent (the component says so, not every response). */
const optionalHeader = (id: string, description: string, example?: string) =>
  z.string().optional().meta({ description, ...(example === undefined ? {} : { example }), header: { id } });

const requestIdHeader = header('X-Request-Id', 'The id of this request (yours when you sent a safe `X-Request-Id`); it is in every error too.', 'req_3f2a9c0d4b5e4f6a8b7c9d0e1f2a3b4c');

/** Present when per-key rate limits are on (they are whenever Redis is). */
const rateLimitHeaders = {
  'RateLimit-Policy': optionalHeader('RateLimit-Policy', 'The policies that apply to this request: `limit;w=window-seconds`, comma separated (IETF draft).', '600;w=60, 60;w=1'),
  RateLimit: optionalHeader('RateLimit', 'The tightest policy: `limit=..., remaining=..., reset=seconds` (IETF draft).', 'limit=600, remaining=599, reset=60'),
  'X-RateLimit-Limit': optionalHeader('X-RateLimit-Limit', 'Requests allowed in the window of the tightest policy.', '600'),
  'X-RateLimit-Remaining': optionalHeader('X-RateLimit-Remaining', 'Requests left in that window.', '599'),
  'X-RateLimit-Reset': optionalHeader('X-RateLimit-Reset', 'Unix time (seconds) when that window resets.', '1767225660'),
};

const retryAfter = header('Retry-After', 'Seconds to wait before retrying.', '5');

/** Headers of every answer of the authenticated API. */
export const apiHeaders = z.object({ 'X-Request-Id': requestIdHeader, ...rateLimitHeaders });
/** Headers of the public endpoints (health, Meta's webhook, the document). */
export const plainHeaders = z.object({ 'X-Request-Id': requestIdHeader });
/** Headers of a creating POST answered under an Idempotency-Key. */
export const idempotentHeaders = apiHeaders.extend({
  'Idempotent-Replayed': z
    .literal('true')
    .optional()
    .meta({ description: 'This answer is a replay of the first answer given to the same Idempotency-Key and body.', header: { id: 'Idempotent-Replayed' } }),
});

const errorResponse = (id: string, description: string, headers = apiHeaders): ZodOpenApiResponseObject => ({
  id,
  description,
  headers,
  content: { 'application/json': { schema: errorSchema } },
});

/** One component per error status; operations refer to them. */
export const errorResponses = {
  400: errorResponse('BadRequest', 'Invalid request: `param` names the field (`parameter_invalid`, `invalid_json`, `invalid_idempotency_key`, ...).'),
  401: errorResponse('Unauthorized', 'No valid API key (`invalid_api_key`): send `Authorization: Bearer gw_live_...` (or `gw_test_...`).'),
  403: errorResponse('Forbidden', 'The key lacks the scope this operation requires (`missing_scope`, with `required_scope`).'),
  404: errorResponse('NotFound', 'No such resource in this workspace (`resource_missing`); ids of other workspaces are not found either.'),
  409: errorResponse('Conflict', 'The resource is not in a state that allows this (e.g. `conversation_taken`, `not_taken_over`), or a request with the same Idempotency-Key is still running (`idempotency_key_in_use`).'),
  413: errorResponse('PayloadTooLarge', 'The body is larger than allowed (`payload_too_large`).'),
  415: errorResponse('UnsupportedMediaType', 'The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json`.'),
  422: errorResponse('Unprocessable', 'Valid, but refused: the 24-hour window is closed (`window_closed`), the template is unknown or not approved, or the Idempotency-Key was used with another body (`idempotency_key_reused`).'),
  429: errorResponse(
    'TooManyRequests',
    'Over the rate limit of this key (`rate_limited`); retry after `Retry-After` seconds.',
    apiHeaders.extend({ 'Retry-After': retryAfter }),
  ),
  500: errorResponse('InternalError', 'Something failed on the gateway (`internal_error`); quote the request id.'),
  502: errorResponse('BadGateway', "Meta's Graph API refused or failed the call the gateway made for this request (`whatsapp_error`, with `meta_code`)."),
  503: errorResponse('Unavailable', 'The database or Redis does not answer (`service_unavailable`); retry after `Retry-After` seconds.', apiHeaders.extend({ 'Retry-After': retryAfter })),
} as const;
export type ErrorStatus = keyof typeof errorResponses;

/** A path parameter holding one of our prefixed ids. */
export const idParam = (kind: IdKind, what: string) =>
  z.string().meta({ description: `The ${what}'s id (\`${ID_PREFIXES[kind]}_...\`).`, example: `${ID_PREFIXES[kind]}_01jd8v2k3m4n5p6q7r8s9t0v1w` });

const idempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .optional()
  .meta({
    description:
      'Makes the POST safe to retry: for 24 hours the same key and body replay the first answer (with `Idempotent-Replayed: true`), another body is 422 `idempotency_key_reused`, a request still running is 409 `idempotency_key_in_use`. 1 to 255 visible ASCII characters; scoped to the workspace.',
    example: '5f0c2a8e-order-1234-confirmation',
    param: { id: 'IdempotencyKey' },
  });

type Content = Record<string, { schema?: z.ZodType; example?: unknown }>;
export interface Answer {
  description: string;
  /** A JSON body; use `content` for anything else. */
  schema?: z.ZodType;
  content?: Content;
  headers?: z.ZodObject;
}

export interface ApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The scopes the key must hold (all of them); none: any valid key. */
  scopes: Scope[];
  path?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out (an empty body reads as {}). */
  bodyOptional?: boolean;
  /** A body that is not JSON: its description and media types. */
  rawBody?: { description: string; content: Content };
  /** Accepts Idempotency-Key. */
  idempotent?: boolean;
  /** Per-key rate limits apply (default: the /v1 API does; the sandbox page's API does not). */
  rateLimited?: boolean;
  /** Success answers by status. */
  answers: Record<number, Answer>;
  /** Error statuses beyond the ones implied (401, 429, 500, 503; 403 with scopes; 400 with input; 404 with a path id). */
  errors?: ErrorStatus[];
}

const toResponse = (a: Answer, headers: z.ZodObject): ZodOpenApiResponseObject => {
  const content = a.content ?? (a.schema ? { 'application/json': { schema: a.schema } } : undefined);
  return { description: a.description, headers: a.headers ?? headers, ...(content ? { content } : {}) };
};

const scopeText = (scopes: Scope[]) =>
  scopes.length === 0 ? 'Any valid API key.' : `Requires the scope${scopes.length > 1 ? 's' : ''} ${scopes.map((s) => `\`${s}\``).join(' and ')}.`;

/** An operation of the authenticated API (/v1): bearer key, its scopes, and every error status it can answer. */
export function apiOperation(o: ApiOperation): ZodOpenApiOperationObject {
  const limited = o.rateLimited !== false;
  const statuses = new Set<ErrorStatus>([401, 500, 503, ...(o.errors ?? [])]);
  if (limited) statuses.add(429);
  if (o.scopes.length > 0) statuses.add(403);
  if (o.query || o.body || o.rawBody || o.idempotent) statuses.add(400);
  if (o.path) statuses.add(404);
  if (o.body) statuses.add(415);
  if (o.body || o.rawBody) statuses.add(413);
  if (o.idempotent) {
    statuses.add(409);
    statuses.add(422);
  }
  const headers = o.idempotent ? idempotentHeaders : limited ? apiHeaders : plainHeaders;
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, answer] of Object.entries(o.answers)) responses[status as `2${string}`] = toResponse(answer, headers);
  for (const status of [...statuses].sort((a, b) => a - b)) responses[String(status) as `4${string}`] = errorResponses[status];
  return {
    operationId: o.operationId,
    summary: o.summary,
    description: [scopeText(o.scopes), o.description].filter(Boolean).join('\n\n'),
    tags: o.tags,
    security: [{ apiKey: [] }],
    'x-required-scopes': o.scopes,
    requestParams: {
      ...(o.path ? { path: o.path } : {}),
      ...(o.query ? { query: o.query } : {}),
      ...(o.idempotent ? { header: z.object({ 'Idempotency-Key': idempotencyKey }) } : {}),
    },
    ...(o.body ? { requestBody: { required: !o.bodyOptional, content: { 'application/json': { schema: o.body } } } } : {}),
    ...(o.rawBody ? { requestBody: { required: true, description: o.rawBody.description, content: o.rawBody.content } } : {}),
    responses,
  };
}

/** An operation outside /v1 (no API key): its answers as given, with the request id header. */
export function publicOperation(
  o: Omit<ApiOperation, 'scopes' | 'answers' | 'errors' | 'idempotent' | 'body' | 'bodyOptional' | 'rawBody' | 'rateLimited'> & {
    answers: Record<number, Answer>;
    errors?: Partial<Record<number, ZodOpenApiResponseObject>>;
    body?: { description: string; content: Content };
    security?: ZodOpenApiOperationObject['security'];
  },
): ZodOpenApiOperationObject {
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, answer] of Object.entries(o.answers)) responses[status as `2${string}`] = toResponse(answer, plainHeaders);
  for (const [status, response] of Object.entries(o.errors ?? {})) if (response) responses[status as `4${string}`] = response;
  return {
    operationId: o.operationId,
    summary: o.summary,
    ...(o.description ? { description: o.description } : {}),
    tags: o.tags,
    security: o.security ?? [],
    requestParams: { ...(o.path ? { path: o.path } : {}), ...(o.query ? { query: o.query } : {}) },
    ...(o.body ? { requestBody: { required: true, description: o.body.description, content: o.body.content } } : {}),
    responses,
  };
}

/** An error response of a public endpoint, with its own description (the envelope is the same). */
export const publicError = (description: string, headers: z.ZodObject = plainHeaders): ZodOpenApiResponseObject => ({
  description,
  headers,
  content: { 'application/json': { schema: errorSchema } },
});

/** The Server-Sent Events media type, as the stream routes write it. */
export const eventStream = (description: string, example: string): Content => ({
  'text/event-stream': { schema: z.string().meta({ description }), example },
});
