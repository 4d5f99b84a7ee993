/** One passage found by the hybrid search, with the signals that ranked it. */
export interface RetrievedChunk {
  chunkId: string;
  documentId: string;
  documentTitle: string;
  content: string;
  /** Reciprocal rank fusion of the two rankings (higher is better; only comparable within one query). */
  score: number;
  /** Cosine similarity of the query and chunk embeddings (-1..1), null when not among the vector candidates. */
  similarity: number | null;
  /** Full-text rank (ts_rank_cd), null when the chunk did not match the text query. */
  textRank: number | null;
}

export interface HybridSearchParams {
  workspaceId: string;
  /** The query as typed (for full-text search). */
  query: string;
  /** The query's embedding (1536 dimensions). */
  embedding: number[];
  limit: number;
}
