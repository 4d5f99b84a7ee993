import { Router } from 'express';
import { z } from 'zod';
import type { ApiKeyRecord } from '../../domain/keys/api-keys.port';
import { assertCanMint, type ApiKeysService } from '../../domain/keys/api-keys.service';
import { KEY_MODES, scopeSchema } from '../../domain/keys/scopes';
import { listQuerySchema } from '../../domain/shared/pagination';
import { errors } from '../../lib/errors';
import { isId } from '../../lib/ids';
import { principalOf, requireScope } from '../middleware/auth';
import { iso, isoDateTime, listOf } from '../serialize';
import { parseInput } from '../validate';

export const createApiKeyBody = z.strictObject({
  name: z.string().trim().min(1, { message: 'must not be empty' }).max(200, { message: 'must be at most 200 characters' }),
  scopes: z.array(scopeSchema).min(1, { message: 'must name at least one scope' }),
  mode: z.enum(KEY_MODES).optional(),
  expires_at: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
    .refine((v) => Date.parse(v) > Date.now(), { message: 'must be in the future' })
    .optional(),
});

/** The documented shape of `serializeApiKey`: never the key itself, only its prefix and last four characters. */
export const apiKeySchema = z
  .object({
    object: z.literal('api_key'),
    id: z.string().meta({ example: 'key_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    name: z.string(),
    redacted_key: z.string().meta({ example: 'gw_live_...a1b2' }),
    scopes: z.array(scopeSchema),
    mode: z.enum(KEY_MODES).meta({ description: 'test keys never reach Meta: their messages go to the sandbox.' }),
    created_at: isoDateTime(),
    last_used_at: isoDateTime().nullable(),
    expires_at: isoDateTime().nullable(),
    revoked_at: isoDateTime().nullable(),
  })
  .meta({ id: 'ApiKey', description: 'An API key (without its secret).' });
export type ApiKeyView = z.output<typeof apiKeySchema>;

/** POST /v1/api-keys: the only answer that holds the key itself. */
export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().meta({ description: 'The key, shown this once: store it now.', example: 'gw_live_...' }) })
  .meta({ id: 'CreatedApiKey', description: 'A new API key, with the key itself (shown once).' });

export function serializeApiKey(k: ApiKeyRecord): ApiKeyView {
  return {
    object: 'api_key' as const,
    id: k.id,
    name: k.name,
    redacted_key: `${k.prefix}...${k.lastFour}`,
    scopes: k.scopes,
    mode: k.mode,
    created_at: k.createdAt.toISOString(),
    last_used_at: iso(k.lastUsedAt),
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
  };
}

export function apiKeysRoutes(deps: { apiKeys: ApiKeysService }): Router {
  const router = Router();
  const manage = requireScope('keys:manage');

  router.get('/v1/api-keys', manage, async (req, res) => {
    const q = parseInput(listQuerySchema, req.query, 'query');
    const page = await deps.apiKeys.list(principalOf(res).workspaceId, { limit: q.limit, startingAfter: q.starting_after });
    res.json(listOf(page.items.map(serializeApiKey), page.hasMore));
  });

  router.post('/v1/api-keys', manage, async (req, res) => {
    const body = parseInput(createApiKeyBody, req.body);
    const p = principalOf(res);
    const mode = body.mode ?? p.mode;
    assertCanMint(p, body.scopes, mode);
    const { record, plaintext } = await deps.apiKeys.create({
      workspaceId: p.workspaceId,
      name: body.name,
      scopes: body.scopes,
      mode,
      source: 'api',
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    });
    // The only time the key is ever shown.
    res.status(201).json({ ...serializeApiKey(record), key: plaintext });
  });

  router.get('/v1/api-keys/:id', manage, async (req, res) => {
    const id = String(req.params.id);
    if (!isId('apiKey', id)) throw errors.notFound('api_key', id);
    res.json(serializeApiKey(await deps.apiKeys.get(principalOf(res).workspaceId, id)));
  });

  router.delete('/v1/api-keys/:id', manage, async (req, res) => {
    const id = String(req.params.id);
    if (!isId('apiKey', id)) throw errors.notFound('api_key', id);
    res.json(serializeApiKey(await deps.apiKeys.revoke(id, principalOf(res).workspaceId)));
  });

  return router;
}
