import { Router } from 'express';
import { z } from 'zod';
import type { TemplateRecord } from '../../domain/templates/templates.port';
import type { TemplatesService } from '../../domain/templates/templates.service';
import { listQuerySchema } from '../../domain/shared/pagination';
import { principalOf, requireScope } from '../middleware/auth';
import { isoDateTime, listOf } from '../serialize';
import { parseInput } from '../validate';

export const listTemplatesQuery = listQuerySchema.extend({
  status: z.string().max(32).optional(),
  category: z.enum(['MARKETING', 'UTILITY', 'AUTHENTICATION']).optional(),
  language: z.string().max(16).optional(),
  name: z.string().max(512).optional(),
});

/** The documented shape of a template (GET /v1/templates); the OpenAPI document is built from it. */
export const templateSchema = z
  .object({
    object: z.literal('template'),
    id: z.string().meta({ example: 'tpl_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    waba_id: z.string(),
    meta_template_id: z.string().nullable(),
    name: z.string().meta({ example: 'order_update' }),
    language: z.string().meta({ example: 'en_US' }),
    category: z.string().meta({ description: 'MARKETING, UTILITY or AUTHENTICATION.' }),
    status: z.string().meta({ description: 'APPROVED, PENDING, REJECTED, PAUSED, DISABLED, DELETED, ...' }),
    parameter_format: z.string().meta({ description: 'POSITIONAL ({{1}}) or NAMED ({{name}}).' }),
    components: z.array(z.unknown()).meta({ description: "The template's components as Meta returns them." }),
    synced_at: isoDateTime(),
  })
  .meta({ id: 'Template', description: 'A message template of the WhatsApp Business Account, synced from Meta.' });
export type TemplateView = z.output<typeof templateSchema>;

export const templateSyncSchema = z
  .object({ object: z.literal('template_sync'), accounts: z.number().int(), templates: z.number().int() })
  .meta({ id: 'TemplateSync', description: 'How many accounts (WABAs) and templates were synced.' });

const view = (t: TemplateRecord): TemplateView => ({
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
  synced_at: t.syncedAt.toISOString(),
});

export function templatesRoutes(deps: { templates: TemplatesService }): Router {
  const router = Router();
  router.post('/v1/templates/sync', requireScope('templates:write'), async (_req, res) => {
    const r = await deps.templates.sync(principalOf(res).workspaceId);
    const body: z.output<typeof templateSyncSchema> = { object: 'template_sync', accounts: r.accounts, templates: r.templates };
    res.json(body);
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
