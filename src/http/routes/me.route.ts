import { Router } from 'express';
import { z } from 'zod';
import type { ApiKeysService } from '../../domain/keys/api-keys.service';
import type { TenancyService } from '../../domain/tenancy/tenancy.service';
import { principalOf } from '../middleware/auth';
import { isoDateTime } from '../serialize';
import { apiKeySchema, serializeApiKey } from './api-keys.route';

/** The documented answer of GET /v1/me; the OpenAPI document is built from it. */
export const meSchema = z
  .object({
    object: z.literal('me'),
    workspace: z
      .object({ object: z.literal('workspace'), id: z.string().meta({ example: 'ws_01jd8v2k3m4n5p6q7r8s9t0v1w' }), name: z.string(), created_at: isoDateTime() })
      .meta({ id: 'Workspace' }),
    api_key: apiKeySchema,
  })
  .meta({ id: 'Me', description: 'The workspace and the API key of this request.' });
export type MeView = z.output<typeof meSchema>;

/** GET /v1/me: which workspace and key this is, with the key's scopes and mode. */
export function meRoutes(deps: { tenancy: TenancyService; apiKeys: ApiKeysService }): Router {
  const router = Router();
  router.get('/v1/me', async (_req, res) => {
    const p = principalOf(res);
    const [workspace, key] = await Promise.all([
      deps.tenancy.getWorkspace(p.workspaceId),
      deps.apiKeys.get(p.workspaceId, p.keyId),
    ]);
    const me: MeView = {
      object: 'me',
      workspace: { object: 'workspace', id: workspace.id, name: workspace.name, created_at: workspace.createdAt.toISOString() },
      api_key: serializeApiKey(key),
    };
    res.json(me);
  });
  return router;
}
