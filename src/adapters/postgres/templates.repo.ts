import type pg from 'pg';
import type { TemplateRecord, TemplatesRepo } from '../../domain/templates/templates.port';
import { toPage } from '../../domain/shared/pagination';
import { newId } from '../../lib/ids';
import { withTransaction } from './database';

interface Row {
  id: string;
  workspace_id: string;
  waba_id: string;
  meta_template_id: string | null;
  name: string;
  language: string;
  category: string;
  status: string;
  parameter_format: string;
  components: unknown[];
  synced_at: Date;
}
const toRecord = (r: Row): TemplateRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  wabaId: r.waba_id,
  metaTemplateId: r.meta_template_id,
  name: r.name,
  language: r.language,
  category: r.category,
  status: r.status,
  parameterFormat: r.parameter_format,
  components: r.components,
  syncedAt: r.synced_at,
});

export function createTemplatesRepo(pool: pg.Pool): TemplatesRepo {
  return {
    async replaceCatalog(workspaceId, wabaId, templates) {
      return withTransaction(pool, async (db) => {
        if (templates.length) {
          await db.query(
            `insert into templates (id, workspace_id, waba_id, meta_template_id, name, language, category, status, parameter_format, components, synced_at)
             select id, $1, $2, meta, name, lang, cat, status, fmt, comps, now()
               from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])
                 as t(id, meta, name, lang, cat, status, fmt, comps)
             on conflict (workspace_id, waba_id, name, language) do update set
               meta_template_id = excluded.meta_template_id, category = excluded.category, status = excluded.status,
               parameter_format = excluded.parameter_format, components = excluded.components, synced_at = now(), updated_at = now()`,
            [
              workspaceId,
              wabaId,
              templates.map(() => newId('template')),
              templates.map((t) => t.metaTemplateId),
              templates.map((t) => t.name),
              templates.map((t) => t.language),
              templates.map((t) => t.category),
              templates.map((t) => t.status),
              templates.map((t) => t.parameterFormat),
              templates.map((t) => JSON.stringify(t.components)),
            ],
          );
        }
        // Gone from Meta's catalog: kept for the record, never sendable.
        await db.query(
          `update templates set status = 'DELETED', updated_at = now()
            where workspace_id = $1 and waba_id = $2 and status <> 'DELETED'
              and not ((name, language) in (select * from unnest($3::text[], $4::text[])))`,
          [workspaceId, wabaId, templates.map((t) => t.name), templates.map((t) => t.language)],
        );
        return templates.length;
      });
    },
    async list(workspaceId, f, { limit, startingAfter }) {
      const { rows } = await pool.query<Row>(
        `select * from templates
          where workspace_id = $1 and ($2::text is null or status = $2) and ($3::text is null or category = $3)
            and ($4::text is null or language = $4) and ($5::text is null or name = $5) and ($6::text is null or id < $6)
          order by id desc limit $7`,
        [workspaceId, f.status ?? null, f.category ?? null, f.language ?? null, f.name ?? null, startingAfter ?? null, limit + 1],
      );
      return toPage(rows.map(toRecord), limit);
    },
    async workspacesWithNumbers() {
      const { rows } = await pool.query<{ workspace_id: string }>('select distinct workspace_id from phone_numbers where not sandbox');
      return rows.map((r) => r.workspace_id);
    },
  };
}
