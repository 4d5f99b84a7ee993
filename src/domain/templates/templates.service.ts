import { AppError, errors } from '../../lib/errors';
import { GraphApiError } from '../whatsapp/graph-errors';
import type { TenancyService } from '../tenancy/tenancy.service';
import type { SyncedTemplate, TemplatesRepo } from './templates.port';

/** The template catalog, pulled from Meta per WhatsApp Business Account (on demand and on a schedule). */
export interface TemplatesService {
  sync(workspaceId: string): Promise<{ accounts: number; templates: number }>;
  syncAll(): Promise<number>;
  list: TemplatesRepo['list'];
}

const CATEGORIES = new Set(['MARKETING', 'UTILITY', 'AUTHENTICATION']);

export function createTemplatesService(deps: {
  repo: TemplatesRepo;
  tenancy: Pick<TenancyService, 'listNumbers' | 'credentials'>;
  graph: { listTemplates(token: string, wabaId: string): Promise<{ id: string; name: string; language: string; status: string; category: string; parameter_format?: string; components?: unknown[] }[]> };
}): TemplatesService {
  const service: TemplatesService = {
    async sync(workspaceId) {
      const numbers = (await deps.tenancy.listNumbers(workspaceId)).filter((n) => !n.sandbox);
      if (numbers.length === 0) throw errors.invalidRequest('This workspace has no WhatsApp number connected to Meta.', undefined, 'no_number');
      const byWaba = new Map(numbers.map((n) => [n.wabaId, n]));
      let templates = 0;
      for (const [wabaId, number] of byWaba) {
        const { accessToken } = await deps.tenancy.credentials(number);
        const fetched = await deps.graph.listTemplates(accessToken, wabaId).catch((e: unknown) => {
          if (e instanceof GraphApiError) {
            throw new AppError({
              type: 'api_error',
              code: 'whatsapp_error',
              status: 502,
              message: `WhatsApp refused the template request for account ${wabaId}: ${e.message}`,
              details: { meta_code: e.code ?? null },
              retryable: e.retryable,
            });
          }
          throw e;
        });
        const synced: SyncedTemplate[] = fetched
          .filter((t) => CATEGORIES.has(t.category))
          .map((t) => ({
            metaTemplateId: t.id,
            name: t.name,
            language: t.language,
            category: t.category,
            status: t.status,
            parameterFormat: (t.parameter_format ?? 'POSITIONAL').toUpperCase() === 'NAMED' ? 'NAMED' : 'POSITIONAL',
            components: t.components ?? [],
          }));
        templates += await deps.repo.replaceCatalog(workspaceId, wabaId, synced);
      }
      return { accounts: byWaba.size, templates };
    },
    async syncAll() {
      let n = 0;
      for (const ws of await deps.repo.workspacesWithNumbers()) n += (await service.sync(ws).catch(() => ({ templates: 0 }))).templates;
      return n;
    },
    list: (workspaceId, filters, page) => deps.repo.list(workspaceId, filters, page),
  };
  return service;
}
