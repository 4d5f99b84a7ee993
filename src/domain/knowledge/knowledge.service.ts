import { errors } from '../../lib/errors';
import { isId, newId } from '../../lib/ids';
import type { Page } from '../shared/pagination';
import type { UsageRecorder } from '../usage/usage.port';
import { estimateTokens, splitDocument } from './chunking';
import type { DocumentFilters, Embedder, KnowledgeDocument, KnowledgeRepo, NewChunk } from './knowledge.port';
import type { CreateDocument, PatchDocument } from './knowledge.schema';
import type { RetrievedChunk } from './retrieval';

/**
 * The knowledge base: documents are stored at once and indexed by a queue job (split, embed in
 * batches, swap the chunks atomically). Editing the title, content or type makes a new version;
 * a job for an older version finds itself superseded and does nothing.
 */
export interface IndexJob {
  workspaceId: string;
  documentId: string;
  version: number;
}

export type IndexOutcome = 'indexed' | 'superseded' | 'missing';

export interface KnowledgeService {
  /** `queue: false`: the caller indexes the document itself (the CLI, which shows progress). */
  create(workspaceId: string, input: CreateDocument, opts?: { queue?: boolean }): Promise<KnowledgeDocument>;
  get(workspaceId: string, id: string): Promise<KnowledgeDocument>;
  list(workspaceId: string, filters: DocumentFilters, page: { limit: number; startingAfter?: string }): Promise<Page<KnowledgeDocument>>;
  /** `reindexing`: the change made a new version, indexed in the background. */
  update(workspaceId: string, id: string, patch: PatchDocument, opts?: { queue?: boolean }): Promise<{ document: KnowledgeDocument; reindexing: boolean }>;
  delete(workspaceId: string, id: string): Promise<void>;
  search(workspaceId: string, query: string, limit: number): Promise<RetrievedChunk[]>;
  /** The queue job's work. Throws to retry; marks the version failed on the last attempt. */
  index(job: IndexJob): Promise<{ outcome: IndexOutcome; chunks: number }>;
  markFailed(job: IndexJob, error: string): Promise<void>;
  /** Re-embeds every document (of one workspace, or all), e.g. after an embedding model change. */
  reindexAll(workspaceId: string | null, opts?: { onlyOtherModel?: boolean; queue?: boolean }): Promise<IndexJob[]>;
  /** Documents whose index job may have been lost. */
  unindexed(olderThan: Date, limit: number): Promise<IndexJob[]>;
}

/** How many chunks go to the embedding model per request. */
export const EMBED_BATCH = 64;

export function createKnowledgeService(deps: {
  repo: KnowledgeRepo;
  embedder: Embedder;
  /** Queues the index job; a failure leaves the document pending for the sweeper. */
  enqueue(job: IndexJob): Promise<void>;
  usage: UsageRecorder;
}): KnowledgeService {
  async function mustGet(workspaceId: string, id: string): Promise<KnowledgeDocument> {
    const doc = isId('document', id) ? await deps.repo.get(workspaceId, id) : null;
    if (!doc) throw errors.notFound('document', id);
    return doc;
  }
  const enqueue = async (d: KnowledgeDocument) =>
    deps.enqueue({ workspaceId: d.workspaceId, documentId: d.id, version: d.version }).catch(() => undefined);

  return {
    async create(workspaceId, input, opts = {}) {
      const doc = await deps.repo.insert({
        id: newId('document'),
        workspaceId,
        title: input.title,
        content: input.content,
        contentType: input.content_type,
        sourceUrl: input.source_url ?? null,
        tags: [...new Set(input.tags)],
        active: input.active,
      });
      if (opts.queue !== false) await enqueue(doc);
      return doc;
    },

    get: mustGet,
    list: (workspaceId, filters, page) => deps.repo.list(workspaceId, filters, page),

    async update(workspaceId, id, patch, opts = {}) {
      const before = await mustGet(workspaceId, id);
      const reindex =
        (patch.title !== undefined && patch.title !== before.title) ||
        (patch.content !== undefined && patch.content !== before.content) ||
        (patch.content_type !== undefined && patch.content_type !== before.contentType);
      const doc = await deps.repo.update(
        workspaceId,
        id,
        {
          title: patch.title,
          content: patch.content,
          contentType: patch.content_type,
          ...(patch.source_url !== undefined ? { sourceUrl: patch.source_url ?? null } : {}),
          tags: patch.tags ? [...new Set(patch.tags)] : undefined,
          active: patch.active,
        },
        reindex,
      );
      if (!doc) throw errors.notFound('document', id);
      if (reindex && opts.queue !== false) await enqueue(doc);
      return { document: doc, reindexing: reindex };
    },

    async delete(workspaceId, id) {
      if (!isId('document', id) || !(await deps.repo.delete(workspaceId, id))) throw errors.notFound('document', id);
    },

    async search(workspaceId, query, limit) {
      const embedding = await deps.embedder.embedQuery(query);
      await deps.usage.record({ workspaceId, kind: 'embedding', model: deps.embedder.model, inputTokens: estimateTokens(query), outputTokens: 0 });
      return deps.repo.search({ workspaceId, query, embedding, limit });
    },

    async index(job) {
      const doc = await deps.repo.startIndexing(job.workspaceId, job.documentId, job.version);
      if (!doc) {
        const current = await deps.repo.get(job.workspaceId, job.documentId);
        return { outcome: current ? 'superseded' : 'missing', chunks: 0 };
      }
      const texts = await splitDocument(doc.content, doc.contentType);
      const chunks: NewChunk[] = [];
      for (let i = 0; i < texts.length; i += EMBED_BATCH) {
        const batch = texts.slice(i, i + EMBED_BATCH);
        // The title goes with every passage: "Opening hours" + "7am to 6pm" is what matches.
        const vectors = await deps.embedder.embedDocuments(batch.map((t) => `${doc.title}\n\n${t}`));
        const tokens = batch.map((t) => estimateTokens(`${doc.title}\n\n${t}`));
        await deps.usage.record({
          workspaceId: doc.workspaceId,
          kind: 'embedding',
          model: deps.embedder.model,
          inputTokens: tokens.reduce((a, b) => a + b, 0),
          outputTokens: 0,
        });
        batch.forEach((content, j) => {
          const embedding = vectors[j];
          if (!embedding || embedding.length !== 1536) {
            throw new Error(`the embedding model returned ${embedding?.length ?? 'no'} dimensions; 1536 are required`);
          }
          chunks.push({ content, embedding, tokenCount: tokens[j] ?? 0 });
        });
      }
      const swapped = await deps.repo.swapChunks(doc.workspaceId, doc.id, job.version, chunks, deps.embedder.model);
      return { outcome: swapped ? 'indexed' : 'superseded', chunks: swapped ? chunks.length : 0 };
    },

    markFailed: (job, error) => deps.repo.markFailed(job.workspaceId, job.documentId, job.version, error),

    async reindexAll(workspaceId, opts = {}) {
      const bumped = await deps.repo.bumpAll(workspaceId, opts.onlyOtherModel ? deps.embedder.model : undefined);
      const jobs = bumped.map((b) => ({ workspaceId: b.workspaceId, documentId: b.id, version: b.version }));
      if (opts.queue !== false) for (const job of jobs) await deps.enqueue(job).catch(() => undefined);
      return jobs;
    },

    async unindexed(olderThan, limit) {
      return (await deps.repo.unindexed(olderThan, limit)).map((d) => ({ workspaceId: d.workspaceId, documentId: d.id, version: d.version }));
    },
  };
}
