import { Router } from 'express';
import type { KnowledgeDocument } from '../../domain/knowledge/knowledge.port';
import { createDocumentSchema, listDocumentsQuery, patchDocumentSchema, searchSchema } from '../../domain/knowledge/knowledge.schema';
import type { KnowledgeService } from '../../domain/knowledge/knowledge.service';
import type { IdempotencyRepo } from '../../domain/shared/idempotency';
import { respondIdempotently } from '../idempotent';
import { principalOf, requireScope } from '../middleware/auth';
import { iso, listOf } from '../serialize';
import { parseInput } from '../validate';

/** The document resource; `content` only where one document is asked for (lists stay small). */
export function documentView(d: KnowledgeDocument, withContent = true) {
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
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
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
      data: chunks.map((c) => ({
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
