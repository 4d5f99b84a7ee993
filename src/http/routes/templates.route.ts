import { Router } from 'express';
import { z } from 'zod';
import type { TemplateRecord } from '../../domain/templates/templates.port';
import type { TemplatesService } from '../../domain/templates/templates.service';
import { listQuerySchema } from '../../domain/shared/pagination';
import { principalOf, requireScope } from '../middleware/auth';
import { iso, listOf } from '../serialize';
import { parseInput } from '../validate';

const listTemplatesQuery = listQuerySchema.extend({
  status: z.string().max(32).optional(),
  category: z.enum(['MARKETING', 'UTILITY', 'AUTHENTICATION']).optional(),
  language: z.string().max(16).optional(),
  name: z.string().max(512).optional(),
});

const view = (t: TemplateRecord) => ({
  object: 'template' as const,
  id: t.id,
  waba_id: t.wabaId,
  meta_template_id: t.metaTemplateId,
  name: t.name,
  language: t.language,
  category: t.category,
  status: t.status,
  parameter_format: t.parameterFormat,
  components: t.components,
  synced_at: iso(t.syncedAt),
});

export function templatesRoutes(deps: { templates: TemplatesService }): Router {
  const router = Router();
  router.post('/v1/templates/sync', requireScope('templates:write'), async (_req, res) => {
    const r = await deps.templates.sync(principalOf(res).workspaceId);
    res.json({ object: 'template_sync', accounts: r.accounts, templates: r.templates });
  });
  router.get('/v1/templates', requireScope('templates:read'), async (req, res) => {
    const q = parseInput(listTemplatesQuery, req.query, 'query');
    const page = await deps.templates.list(
      principalOf(res).workspaceId,
      { status: q.status, category: q.category, language: q.language, name: q.name },
      { limit: q.limit, startingAfter: q.starting_after },
    );
    res.json(listOf(page.items.map(view), page.hasMore));
  });
  return router;
}
