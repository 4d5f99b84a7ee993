import type { HybridSearchParams, RetrievedChunk } from '../../domain/knowledge/retrieval';
import type { Queryable } from './database';

/**
 * Hybrid retrieval over knowledge_chunks: nearest neighbours on the HNSW index (pgvector, cosine)
 * and full-text matches on the GIN index, fused by reciprocal rank fusion, in one statement.
 */

/**
 * The text search configuration of chunk tsvectors and of queries. 'english' was measured against
 * 'simple' on test/fixtures/faq-*.json (see test/integration/offline-retrieval.test.ts): its
 * stemming lets "opening" meet "open" and its stopword list keeps "what is the" out of OR
 * queries; words of other languages still match when they are spelled the same.
 */
export const TEXT_SEARCH_CONFIG = 'english';

/** The tsvector of a chunk, from two SQL expressions (parameters or columns). */
export function tsvectorSql(titleParam: string, contentParam: string): string {
  return `to_tsvector('${TEXT_SEARCH_CONFIG}'::regconfig, ${titleParam} || ' ' || ${contentParam})`;
}

/** Reciprocal rank fusion constant (Cormack et al.): 1 / (RRF_K + rank). */
export const RRF_K = 60;
/** Candidates taken from each ranking before fusion (at least; twice the limit when larger). */
const MIN_CANDIDATES = 40;
/** More passages than this are never useful in a prompt; it also keeps hnsw.ef_search in range. */
const MAX_LIMIT = 100;
/** The text query is built from at most this many distinct words. */
const MAX_QUERY_WORDS = 32;
const MAX_WORD_LENGTH = 64;

/**
 * A to_tsquery() source string that can never be a syntax error: the distinct words of the query
 * (runs of letters, marks and digits; every tsquery operator and quote is dropped) joined by
 * `|`, so a chunk matches on any of them and ts_rank_cd rewards the ones that match more.
 * Null when the query has no word at all (then the search is by vector only).
 */
export function textQuery(query: string): string | null {
  const words = new Set<string>();
  for (const match of query.toLowerCase().matchAll(/[\p{L}\p{M}\p{N}]+/gu)) {
    words.add(match[0].slice(0, MAX_WORD_LENGTH));
    if (words.size >= MAX_QUERY_WORDS) break;
  }
  return words.size > 0 ? [...words].join(' | ') : null;
}

function isZero(vector: number[]): boolean {
  return vector.every((x) => x === 0);
}

interface Row {
  id: string;
  document_id: string;
  title: string;
  content: string;
  score: number;
  similarity: number | null;
  text_rank: number | null;
}

/*
 * Why the vector side looks the way it does:
 * - A filter after an HNSW scan (workspace, active document, live version) discards candidates,
 *   and a plain scan stops after hnsw.ef_search (40) of them: a workspace holding 2% of the
 *   table would get about one result. pgvector 0.8's iterative scan keeps walking the graph
 *   until the LIMIT is met (bounded by hnsw.max_scan_tuples, 20,000 by default), so it is on.
 * - SET LOCAL would need a transaction (three more round trips and a dedicated client), and a
 *   plain SET would leak into the pooled connection, so the settings are made with
 *   set_config(..., is_local => true): they last until the end of the transaction, which is
 *   this statement alone outside one (this also works through a transaction-mode pooler).
 *   pgvector reads them on the first fetch from the index; they are computed in an init plan
 *   that feeds the ORDER BY operand, and an index scan evaluates its runtime keys (that init
 *   plan included) before its first fetch, so they are in force when it starts. The test
 *   "finds the nearest chunks of a small workspace through the HNSW index" fails without them.
 * - relaxed_order may return candidates slightly out of order; they are re-ranked by distance.
 * - The planner still chooses per query: for a small workspace an exact scan of its chunks (by
 *   the workspace index, then a sort) is cheaper than the graph, and exact. Measured on 50,000
 *   chunks (bench/retrieval.bench.ts): workspaces holding 16% of the table or more go through
 *   HNSW, 10% or less are scanned exactly; recall@10 of this side is 0.97-1.0 everywhere, where
 *   the plain HNSW query gets 0.53-0.56 for the 16-24% workspaces.
 */
const SQL = `
with settings as materialized (
  select $2::vector as embedding,
         set_config('hnsw.iterative_scan', 'relaxed_order', true) as iterative_scan,
         set_config('hnsw.ef_search', $5::int::text, true) as ef_search
),
vector_candidates as materialized (
  select c.id, c.embedding <=> (select embedding from settings) as distance
    from knowledge_chunks c
    join knowledge_documents d on d.workspace_id = c.workspace_id and d.id = c.document_id
   where $2::vector is not null
     and c.workspace_id = $1 and d.active and c.document_version = d.indexed_version
   order by c.embedding <=> (select embedding from settings)
   limit $5
),
vector_ranked as (
  select id, distance, rank() over (order by distance) as rank from vector_candidates
),
text_candidates as materialized (
  select c.id, ts_rank_cd(c.tsv, to_tsquery('${TEXT_SEARCH_CONFIG}'::regconfig, $3::text)) as text_rank
    from knowledge_chunks c
    join knowledge_documents d on d.workspace_id = c.workspace_id and d.id = c.document_id
   where c.tsv @@ to_tsquery('${TEXT_SEARCH_CONFIG}'::regconfig, $3::text)
     and c.workspace_id = $1 and d.active and c.document_version = d.indexed_version
   order by text_rank desc, c.id
   limit $5
),
text_ranked as (
  select id, text_rank, rank() over (order by text_rank desc) as rank from text_candidates
),
fused as (
  select coalesce(v.id, t.id) as id,
         coalesce(1.0 / (${RRF_K} + v.rank), 0) + coalesce(1.0 / (${RRF_K} + t.rank), 0) as score,
         1 - v.distance as similarity,
         t.text_rank
    from vector_ranked v
    full join text_ranked t on t.id = v.id
   order by score desc, similarity desc nulls last, text_rank desc nulls last, id
   limit $4
)
select f.id, c.document_id, d.title, c.content,
       f.score::float8 as score, f.similarity::float8 as similarity, f.text_rank::float8 as text_rank
  from fused f
  join knowledge_chunks c on c.id = f.id
  join knowledge_documents d on d.workspace_id = c.workspace_id and d.id = c.document_id
 order by f.score desc, f.similarity desc nulls last, f.text_rank desc nulls last, f.id`;

/** The statement and values of a hybrid search; null when it cannot find anything. */
export function hybridSearchQuery(p: HybridSearchParams): { text: string; values: unknown[] } | null {
  const limit = Math.min(MAX_LIMIT, Math.max(0, Math.floor(p.limit)));
  const vector = isZero(p.embedding) ? null : `[${p.embedding.join(',')}]`;
  const query = textQuery(p.query);
  if (limit === 0 || (vector === null && query === null)) return null;
  const candidates = Math.max(MIN_CANDIDATES, limit * 2);
  return { text: SQL, values: [p.workspaceId, vector, query, limit, candidates] };
}

/** The workspace's best passages for a question, best first (at most p.limit). */
export async function hybridSearch(db: Queryable, p: HybridSearchParams): Promise<RetrievedChunk[]> {
  const statement = hybridSearchQuery(p);
  if (!statement) return [];
  const { rows } = await db.query<Row>(statement.text, statement.values);
  return rows.map((r) => ({
    chunkId: r.id,
    documentId: r.document_id,
    documentTitle: r.title,
    content: r.content,
    score: r.score,
    similarity: r.similarity,
    textRank: r.text_rank,
  }));
}
