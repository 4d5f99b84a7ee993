import { Router } from 'express';
import { z } from 'zod';
import type { KnowledgeDocument } from '../../domain/knowledge/knowledge.port';
import { createDocumentSchema, listDocumentsQuery, patchDocumentSchema, searchSchema } from '../../domain/knowledge/knowledge.schema';
import type { KnowledgeService } from '../../domain/knowledge/knowledge.service';
import type { IdempotencyRepo } from '../../domain/shared/idempotency';
import { respondIdempotently } from '../idempotent';
import { principalOf, requireScope } from '../middleware/auth';
import { iso, isoDateTime, listOf } from '../serialize';
import { parseInput } from '../validate';

/** The documented shape of `documentView`; the OpenAPI document is built from it. */
export const knowledgeDocumentSchema = z
  .object({
    object: z.literal('knowledge_document'),
    id: z.string().meta({ example: 'doc_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    title: z.string(),
    content: z.string().optional().meta({ description: 'Only when one document is asked for; lists leave it out.' }),
    content_type: z.enum(['text', 'markdown', 'html']),
    source_url: z.string().nullable(),
    tags: z.array(z.string()),
    active: z.boolean().meta({ description: 'Inactive documents are hidden from the agent.' }),
    version: z.number().int().meta({ description: 'Incremented by every change of title, content or type.' }),
    indexed_version: z.number().int().nullable().meta({ description: 'The version whose chunks the agent searches.' }),
    status: z.enum(['pending', 'indexing', 'ready', 'failed']),
    error: z.string().nullable(),
    chunk_count: z.number().int(),
    embedding_model: z.string().nullable(),
    indexed_at: isoDateTime().nullable(),
    created_at: isoDateTime(),
    updated_at: isoDateTime(),
  })
  .meta({ id: 'KnowledgeDocument', description: 'A document of the knowledge base the AI agent answers from.' });
export type KnowledgeDocumentView = z.output<typeof knowledgeDocumentSchema>;

/** One passage of POST /v1/knowledge/search. */
export const knowledgeChunkSchema = z
  .object({
    object: z.literal('knowledge_chunk'),
    id: z.string(),
    document_id: z.string(),
    title: z.string().meta({ description: "The document's title." }),
    content: z.string(),
    score: z.number().meta({ description: 'Reciprocal rank fusion of the two rankings; higher is better.' }),
    similarity: z.number().nullable().meta({ description: 'Cosine similarity of the embeddings.' }),
    text_rank: z.number().nullable().meta({ description: 'Postgres full-text rank.' }),
  })
  .meta({ id: 'KnowledgeChunk', description: 'A passage found by hybrid search (pgvector + full text).' });
export type KnowledgeChunkView = z.output<typeof knowledgeChunkSchema>;

/** The document resource; `content` only where one document is asked for (lists stay small). */
export function documentView(d: KnowledgeDocument, withContent = true): KnowledgeDocumentView {
  return {
    object: 'knowledge_document' as const,
    id: d.id,
    title: d.title,
    ...(withContent ? { content: d.content } : {}),
    content_type: d.contentType,
    source_url: d.sourceUrl,
    tags: d.tags,
    active: d.active,
    version: d.version,
    indexed_version: d.indexedVersion,
    status: d.status,
    error: d.error,
    chunk_count: d.chunkCount,
    embedding_model: d.embeddingModel,
    indexed_at: iso(d.indexedAt),
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

export function knowledgeRoutes(deps: { knowledge: KnowledgeService; idempotency: IdempotencyRepo }): Router {
  const router = Router();

  router.post('/v1/knowledge', requireScope('knowledge:write'), async (req, res) => {
    await respondIdempotently(deps.idempotency, req, res, '/v1/knowledge', async () => ({
      status: 202,
      body: documentView(await deps.knowledge.create(principalOf(res).workspaceId, parseInput(createDocumentSchema, req.body))),
    }));
  });

  router.get('/v1/knowledge', requireScope('knowledge:read'), async (req, res) => {
    const q = parseInput(listDocumentsQuery, req.query, 'query');
    const page = await deps.knowledge.list(
      principalOf(res).workspaceId,
      { status: q.status, active: q.active, tag: q.tag, q: q.q },
      { limit: q.limit, startingAfter: q.starting_after },
    );
    res.json(listOf(page.items.map((d) => documentView(d, false)), page.hasMore));
  });

  router.post('/v1/knowledge/search', requireScope('knowledge:read'), async (req, res) => {
    const q = parseInput(searchSchema, req.body);
    const chunks = await deps.knowledge.search(principalOf(res).workspaceId, q.query, q.limit);
    res.json({
      object: 'list',
      data: chunks.map((c): KnowledgeChunkView => ({
        object: 'knowledge_chunk',
        id: c.chunkId,
        document_id: c.documentId,
        title: c.documentTitle,
        content: c.content,
        score: c.score,
        similarity: c.similarity,
        text_rank: c.textRank,
      })),
      has_more: false,
      next_cursor: null,
    });
  });

  router.get('/v1/knowledge/:id', requireScope('knowledge:read'), async (req, res) => {
    res.json(documentView(await deps.knowledge.get(principalOf(res).workspaceId, String(req.params.id))));
  });

  router.patch('/v1/knowledge/:id', requireScope('knowledge:write'), async (req, res) => {
    const patch = parseInput(patchDocumentSchema, req.body);
    const r = await deps.knowledge.update(principalOf(res).workspaceId, String(req.params.id), patch);
    // A new version is indexed in the background, like a creation.
    res.status(r.reindexing ? 202 : 200).json(documentView(r.document));
  });

  router.delete('/v1/knowledge/:id', requireScope('knowledge:write'), async (req, res) => {
    const id = String(req.params.id);
    await deps.knowledge.delete(principalOf(res).workspaceId, id);
    res.json({ object: 'knowledge_document', id, deleted: true });
  });

  return router;
}
