import type { Page } from '../shared/pagination';
import type { HybridSearchParams, RetrievedChunk } from './retrieval';

export interface KnowledgeDocument {
  id: string;
  workspaceId: string;
  title: string;
  content: string;
  contentType: 'text' | 'markdown' | 'html';
  sourceUrl: string | null;
  tags: string[];
  active: boolean;
  version: number;
  indexedVersion: number | null;
  status: 'pending' | 'indexing' | 'ready' | 'failed';
  error: string | null;
  embeddingModel: string | null;
  chunkCount: number;
  indexedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewChunk {
  content: string;
  embedding: number[];
  tokenCount: number;
}

export interface DocumentFilters {
  status?: KnowledgeDocument['status'];
  active?: boolean;
  tag?: string;
  q?: string;
}

export interface KnowledgeRepo {
  insert(doc: Omit<KnowledgeDocument, 'version' | 'indexedVersion' | 'status' | 'error' | 'embeddingModel' | 'chunkCount' | 'indexedAt' | 'createdAt' | 'updatedAt'>): Promise<KnowledgeDocument>;
  get(workspaceId: string, id: string): Promise<KnowledgeDocument | null>;
  list(workspaceId: string, filters: DocumentFilters, page: { limit: number; startingAfter?: string }): Promise<Page<KnowledgeDocument>>;
  /** Applies the change; `reindex` bumps the version (status pending). Null when not found. */
  update(
    workspaceId: string,
    id: string,
    change: Partial<Pick<KnowledgeDocument, 'title' | 'content' | 'contentType' | 'sourceUrl' | 'tags' | 'active'>>,
    reindex: boolean,
  ): Promise<KnowledgeDocument | null>;
  delete(workspaceId: string, id: string): Promise<boolean>;
  /** Marks the version as being indexed; false when the document is gone or has a newer version. */
  startIndexing(workspaceId: string, id: string, version: number): Promise<KnowledgeDocument | null>;
  /**
   * Stores the chunks of `version` and, in the same transaction, makes it the live version and
   * deletes the previous version's chunks: readers see the old chunks or the new ones, never a
   * mix. False when a newer version superseded it meanwhile (its chunks are not kept).
   */
  swapChunks(workspaceId: string, id: string, version: number, chunks: NewChunk[], embeddingModel: string): Promise<boolean>;
  markFailed(workspaceId: string, id: string, version: number, error: string): Promise<void>;
  /** Bumps the version of every document (or those indexed by another model) for re-embedding. */
  bumpAll(workspaceId: string | null, onlyOtherModelThan?: string): Promise<{ workspaceId: string; id: string; version: number }[]>;
  /** Documents whose current version is not indexed (their job may be lost): for the sweeper. */
  unindexed(olderThan: Date, limit: number): Promise<{ workspaceId: string; id: string; version: number }[]>;
  search(p: HybridSearchParams): Promise<RetrievedChunk[]>;
}

/** Embeds text (LangChain's Embeddings satisfies it). */
export interface Embedder {
  /** The model name recorded with each indexed document. */
  readonly model: string;
  embedDocuments(texts: string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}
