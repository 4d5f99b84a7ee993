import { Router } from 'express';
import type { ApiKeysService } from '../../domain/keys/api-keys.service';
import type { TenancyService } from '../../domain/tenancy/tenancy.service';
import { principalOf } from '../middleware/auth';
import { iso } from '../serialize';
import { serializeApiKey } from './api-keys.route';

/** GET /v1/me: which workspace and key this is, with the key's scopes and mode. */
export function meRoutes(deps: { tenancy: TenancyService; apiKeys: ApiKeysService }): Router {
  const router = Router();
  router.get('/v1/me', async (_req, res) => {
    const p = principalOf(res);
    const [workspace, key] = await Promise.all([
      deps.tenancy.getWorkspace(p.workspaceId),
      deps.apiKeys.get(p.workspaceId, p.keyId),
    ]);
    res.json({
      object: 'me',
      workspace: { object: 'workspace', id: workspace.id, name: workspace.name, created_at: iso(workspace.createdAt) },
      api_key: serializeApiKey(key),
    });
  });
  return router;
}
