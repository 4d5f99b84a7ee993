import { Router } from 'express';
import { z } from 'zod';
import type { ApiKeyRecord } from '../../domain/keys/api-keys.port';
import { assertCanMint, type ApiKeysService } from '../../domain/keys/api-keys.service';
import { KEY_MODES, scopeSchema } from '../../domain/keys/scopes';
import { listQuerySchema } from '../../domain/shared/pagination';
import { errors } from '../../lib/errors';
import { isId } from '../../lib/ids';
import { principalOf, requireScope } from '../middleware/auth';
import { iso, listOf } from '../serialize';
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

export function serializeApiKey(k: ApiKeyRecord) {
  return {
    object: 'api_key' as const,
    id: k.id,
    name: k.name,
    redacted_key: `${k.prefix}...${k.lastFour}`,
    scopes: k.scopes,
    mode: k.mode,
    created_at: iso(k.createdAt),
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
