import type pg from 'pg';
import type { KnowledgeDocument, KnowledgeRepo } from '../../domain/knowledge/knowledge.port';
import { toPage } from '../../domain/shared/pagination';
import { newId } from '../../lib/ids';
import { withTransaction } from './database';
import { hybridSearch, tsvectorSql } from './hybrid-search';

interface Row {
  id: string;
  workspace_id: string;
  title: string;
  content: string;
  content_type: KnowledgeDocument['contentType'];
  source_url: string | null;
  tags: string[];
  active: boolean;
  version: number;
  indexed_version: number | null;
  status: KnowledgeDocument['status'];
  error: string | null;
  embedding_model: string | null;
  chunk_count: number;
  indexed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, workspace_id, title, content, content_type, source_url, tags, active, version, indexed_version, status, error, ' +
  'embedding_model, chunk_count, indexed_at, created_at, updated_at';

const toDocument = (r: Row): KnowledgeDocument => ({
  id: r.id,
  workspaceId: r.workspace_id,
  title: r.title,
  content: r.content,
  contentType: r.content_type,
  sourceUrl: r.source_url,
  tags: r.tags,
  active: r.active,
  version: r.version,
  indexedVersion: r.indexed_version,
  status: r.status,
  error: r.error,
  embeddingModel: r.embedding_model,
  chunkCount: r.chunk_count,
  indexedAt: r.indexed_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const vectorLiteral = (v: number[]) => `[${v.join(',')}]`;

export function createKnowledgeRepo(pool: pg.Pool): KnowledgeRepo {
  return {
    async insert(doc) {
      const { rows } = await pool.query<Row>(
        `insert into knowledge_documents (id, workspace_id, title, content, content_type, source_url, tags, active)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${COLUMNS}`,
        [doc.id, doc.workspaceId, doc.title, doc.content, doc.contentType, doc.sourceUrl, doc.tags, doc.active],
      );
      return toDocument(rows[0] as Row);
    },

    async get(workspaceId, id) {
      const { rows } = await pool.query<Row>(`select ${COLUMNS} from knowledge_documents where workspace_id = $1 and id = $2`, [workspaceId, id]);
      return rows[0] ? toDocument(rows[0]) : null;
    },

    async list(workspaceId, filters, page) {
      const where = ['workspace_id = $1'];
      const params: unknown[] = [workspaceId];
      const add = (sql: string, v: unknown) => {
        params.push(v);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (filters.status) add('status = ?', filters.status);
      if (filters.active !== undefined) add('active = ?', filters.active);
      if (filters.tag) add('? = any(tags)', filters.tag);
      if (filters.q) add("title ilike '%' || ? || '%'", filters.q.replace(/[\\%_]/g, (c) => `\\${c}`));
      if (page.startingAfter) add('id < ?', page.startingAfter);
      params.push(page.limit + 1);
      const { rows } = await pool.query<Row>(
        `select ${COLUMNS} from knowledge_documents where ${where.join(' and ')} order by id desc limit $${params.length}`,
        params,
      );
      return toPage(rows.map(toDocument), page.limit);
    },

    async update(workspaceId, id, change, reindex) {
      const { rows } = await pool.query<Row>(
        `update knowledge_documents set
           title = coalesce($3, title), content = coalesce($4, content), content_type = coalesce($5, content_type),
           source_url = case when $6::boolean then $7 else source_url end, tags = coalesce($8, tags), active = coalesce($9, active),
           version = version + case when $10::boolean then 1 else 0 end,
           status = case when $10::boolean then 'pending' else status end,
           error = case when $10::boolean then null else error end,
           updated_at = now()
         where workspace_id = $1 and id = $2 returning ${COLUMNS}`,
        [
          workspaceId,
          id,
          change.title ?? null,
          change.content ?? null,
          change.contentType ?? null,
          change.sourceUrl !== undefined,
          change.sourceUrl ?? null,
          change.tags ?? null,
          change.active ?? null,
          reindex,
        ],
      );
      return rows[0] ? toDocument(rows[0]) : null;
    },

    async delete(workspaceId, id) {
      const r = await pool.query('delete from knowledge_documents where workspace_id = $1 and id = $2', [workspaceId, id]);
      return (r.rowCount ?? 0) > 0;
    },

    async startIndexing(workspaceId, id, version) {
      const { rows } = await pool.query<Row>(
        `update knowledge_documents set status = 'indexing', updated_at = now()
          where workspace_id = $1 and id = $2 and version = $3 returning ${COLUMNS}`,
        [workspaceId, id, version],
      );
      return rows[0] ? toDocument(rows[0]) : null;
    },

    async swapChunks(workspaceId, id, version, chunks, embeddingModel) {
      return withTransaction(pool, async (db) => {
        // Lock the document so a concurrent PATCH (a newer version) or delete waits for us.
        const { rows } = await db.query<{ version: number; title: string }>(
          'select version, title from knowledge_documents where workspace_id = $1 and id = $2 for update',
          [workspaceId, id],
        );
        const current = rows[0];
        if (!current || current.version !== version) return false;
        // A retried job may have written some chunks of this version already.
        await db.query('delete from knowledge_chunks where document_id = $1 and document_version = $2', [id, version]);
        if (chunks.length > 0) {
          await db.query(
            `insert into knowledge_chunks (id, workspace_id, document_id, document_version, chunk_index, content, embedding, tsv, token_count)
             select c.id, $1, $2, $3, c.idx, c.content, c.embedding::vector, ${tsvectorSql('$4::text', 'c.content')}, c.tokens
               from unnest($5::text[], $6::int[], $7::text[], $8::text[], $9::int[]) as c(id, idx, content, embedding, tokens)`,
            [
              workspaceId,
              id,
              version,
              current.title,
              chunks.map(() => newId('chunk')),
              chunks.map((_, i) => i),
              chunks.map((c) => c.content),
              chunks.map((c) => vectorLiteral(c.embedding)),
              chunks.map((c) => c.tokenCount),
            ],
          );
        }
        await db.query('delete from knowledge_chunks where document_id = $1 and document_version <> $2', [id, version]);
        await db.query(
          `update knowledge_documents set indexed_version = $3, status = 'ready', error = null, embedding_model = $4,
                  chunk_count = $5, indexed_at = now(), updated_at = now()
            where workspace_id = $1 and id = $2`,
          [workspaceId, id, version, embeddingModel, chunks.length],
        );
        return true;
      });
    },

    async markFailed(workspaceId, id, version, error) {
      await pool.query(
        `update knowledge_documents set status = 'failed', error = $4, updated_at = now()
          where workspace_id = $1 and id = $2 and version = $3`,
        [workspaceId, id, version, error.slice(0, 1000)],
      );
    },

    async bumpAll(workspaceId, onlyOtherModelThan) {
      const { rows } = await pool.query<{ workspace_id: string; id: string; version: number }>(
        `update knowledge_documents set version = version + 1, status = 'pending', error = null, updated_at = now()
          where ($1::text is null or workspace_id = $1)
            and ($2::text is null or embedding_model is distinct from $2)
          returning workspace_id, id, version`,
        [workspaceId, onlyOtherModelThan ?? null],
      );
      return rows.map((r) => ({ workspaceId: r.workspace_id, id: r.id, version: r.version }));
    },

    async unindexed(olderThan, limit) {
      const { rows } = await pool.query<{ workspace_id: string; id: string; version: number }>(
        `select workspace_id, id, version from knowledge_documents
          where status in ('pending', 'indexing') and updated_at < $1 order by updated_at limit $2`,
        [olderThan, limit],
      );
      return rows.map((r) => ({ workspaceId: r.workspace_id, id: r.id, version: r.version }));
    },

    search: (p) => hybridSearch(pool, p),
  };
}
