import { BaseRetriever } from '@langchain/core/retrievers';
import { Document } from '@langchain/core/documents';
import type { Retriever } from '../../domain/agent/agent.port';
import type { Embedder } from '../../domain/knowledge/knowledge.port';
import type { HybridSearchParams, RetrievedChunk } from '../../domain/knowledge/retrieval';
import type { UsageRecorder } from '../../domain/usage/usage.port';
import { estimateTokens } from '../../domain/knowledge/chunking';

/**
 * The knowledge base as a LangChain retriever: the query is embedded, then one hybrid SQL query
 * (pgvector + full-text, fused by reciprocal rank) ranks the workspace's active passages. Each
 * Document carries the chunk's ids and scores in its metadata.
 */
export class KnowledgeRetriever extends BaseRetriever {
  lc_namespace = ['wa_agent_gateway', 'retrievers'];

  constructor(
    private readonly deps: {
      workspaceId: string;
      limit: number;
      embedder: Embedder;
      search(p: HybridSearchParams): Promise<RetrievedChunk[]>;
      usage?: UsageRecorder;
    },
  ) {
    super();
  }

  override async _getRelevantDocuments(query: string): Promise<Document[]> {
    const embedding = await this.deps.embedder.embedQuery(query);
    await this.deps.usage?.record({ workspaceId: this.deps.workspaceId, kind: 'embedding', model: this.deps.embedder.model, inputTokens: estimateTokens(query), outputTokens: 0 });
    const chunks = await this.deps.search({ workspaceId: this.deps.workspaceId, query, embedding, limit: this.deps.limit });
    return chunks.map((c) => new Document({ pageContent: c.content, metadata: { ...c, content: undefined }, id: c.chunkId }));
  }
}

export function toChunk(d: Document): RetrievedChunk {
  const m = d.metadata as Omit<RetrievedChunk, 'content'>;
  return { chunkId: m.chunkId, documentId: m.documentId, documentTitle: m.documentTitle, content: d.pageContent, score: m.score, similarity: m.similarity, textRank: m.textRank };
}

/** The agent's port, served by a KnowledgeRetriever per workspace. */
export function createRetriever(deps: { embedder: Embedder; search(p: HybridSearchParams): Promise<RetrievedChunk[]>; usage?: UsageRecorder }): Retriever {
  return {
    async retrieve(workspaceId, query, limit) {
      const docs = await new KnowledgeRetriever({ ...deps, workspaceId, limit }).invoke(query);
      return docs.map(toChunk);
    },
  };
}
