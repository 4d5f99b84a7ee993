import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { offlineEmbedding } from '../src/adapters/llm/offline-embeddings';
import { createDatabase, type Database, type Queryable } from '../src/adapters/postgres/database';
import { hybridSearch, hybridSearchQuery, tsvectorSql } from '../src/adapters/postgres/hybrid-search';
import { defaultMigrationsDir, migrate } from '../src/adapters/postgres/migrator';
import type { BenchRow } from './ingress.bench';
import { withServerDatabase } from './lib/server-database';

/**
 * bench/retrieval: hybrid search (HNSW + full text, fused in SQL) on 50,000 chunks of synthetic
 * FAQ-like text in workspaces of very different sizes, against the plain vector-only query (the
 * HNSW scan with the same filters, default settings) in the same run. Also measures recall@10 of
 * the vector side against an exact search done in JS, which is where a filter after an HNSW scan
 * shows: the baseline loses most neighbours in the small workspaces.
 */

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 50_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const RECALL_QUERIES = Number(process.env.BENCH_RECALL_QUERIES ?? 70);
const BATCH = 500;
/** Share of the chunks per workspace: one big tenant, a long tail of small ones. */
const WORKSPACE_SHARES = [0.4, 0.24, 0.16, 0.1, 0.06, 0.03, 0.01];
const CHUNKS_PER_DOCUMENT = 10;
/** Rows loaded while the HNSW index exists, to measure that rate before dropping it. */
const LOAD_WITH_INDEX = Math.min(1_000, CHUNKS);
const LIMIT = 5;

// --- synthetic text -------------------------------------------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BUSINESSES = ['coffee shop', 'dental clinic', 'bike shop', 'hotel', 'gym', 'bookshop', 'bakery', 'language school', 'car repair garage', 'florist'];
const TOPICS: Record<string, string[]> = {
  hours: ['open', 'opening hours', 'closed', 'weekdays', 'weekends', 'public holidays', 'Monday', 'Saturday', 'Sunday', 'morning', 'evening', 'late'],
  location: ['address', 'street', 'corner', 'station', 'bus stop', 'parking', 'garage', 'map', 'entrance', 'floor', 'district'],
  prices: ['price', 'cost', 'fee', 'discount', 'VAT', 'euro', 'cheap', 'offer', 'package', 'quote', 'invoice'],
  payment: ['card', 'cash', 'Visa', 'Mastercard', 'Apple Pay', 'bank transfer', 'instalments', 'receipt', 'deposit', 'contactless'],
  booking: ['appointment', 'reservation', 'book online', 'cancel', 'reschedule', 'waiting list', 'confirmation', 'no-show', 'slot', 'calendar'],
  delivery: ['delivery', 'shipping', 'courier', 'pick up', 'tracking', 'parcel', 'same day', 'postcode', 'address label', 'returns'],
  refunds: ['refund', 'complaint', 'exchange', 'warranty', 'faulty', 'money back', 'store credit', 'damaged', 'return policy'],
  staff: ['team', 'trained', 'certified', 'specialist', 'manager', 'jobs', 'hiring', 'apprentice', 'CV', 'interview'],
  safety: ['hygiene', 'allergy', 'allergen', 'first aid', 'insurance', 'cleaning', 'mask', 'sterilised', 'fire exit'],
  accessibility: ['wheelchair', 'step-free', 'lift', 'accessible toilet', 'large print', 'hearing loop', 'ramp', 'assistance dogs'],
  membership: ['membership', 'loyalty card', 'points', 'rewards', 'subscription', 'monthly plan', 'annual plan', 'gift card', 'voucher'],
  contact: ['phone', 'email', 'WhatsApp', 'Instagram', 'newsletter', 'customer service', 'support', 'chat', 'call back'],
};
const TOPIC_NAMES = Object.keys(TOPICS);
const TEMPLATES = [
  'Our {b} {t} is available for every customer, and {t} can be arranged on request.',
  'Please note that {t} depends on {t}; ask the team if you need {t}.',
  'We offer {t} and {t} at the {b}, usually within {n} days.',
  'If you have questions about {t}, contact us before your visit.',
  'Customers often ask whether {t} includes {t}. It does, except for {t}.',
  'The {b} changed its {t} policy in {y}: {t} now takes about {n} minutes.',
  'For {t} we recommend booking {n} days ahead, especially for {t}.',
  '{T} is free for members; otherwise it costs {n} euro.',
];

function sentence(rand: () => number, business: string, words: string[]): string {
  const template = TEMPLATES[Math.floor(rand() * TEMPLATES.length)] as string;
  const pick = () => words[Math.floor(rand() * words.length)] as string;
  return template
    .replace(/\{b\}/g, business)
    .replace(/\{T\}/g, () => {
      const w = pick();
      return w.charAt(0).toUpperCase() + w.slice(1);
    })
    .replace(/\{t\}/g, pick)
    .replace(/\{n\}/g, () => String(1 + Math.floor(rand() * 60)))
    .replace(/\{y\}/g, () => String(2015 + Math.floor(rand() * 10)));
}

interface Chunk {
  id: string;
  workspace: number;
  document: number;
  version: number;
  index: number;
  content: string;
  embedding: Float32Array;
  live: boolean;
}

interface Dataset {
  workspaces: string[];
  documents: Array<{ id: string; workspace: number; title: string; active: boolean; indexedVersion: number }>;
  chunks: Chunk[];
  queries: Array<{ workspace: number; text: string; embedding: number[] }>;
  embedMsPer1kB: number;
}

/** Four decimals are plenty for the benchmark and keep the statements a third of the size. */
function vectorLiteral(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + (v[i] as number).toFixed(4);
  return `${s}]`;
}

function generate(): Dataset {
  const rand = prng(42);
  const workspaces = WORKSPACE_SHARES.map((_, i) => `ws_bench_${i}`);
  const documents: Dataset['documents'] = [];
  const chunks: Chunk[] = [];
  let embedMs = 0;
  let embedBytes = 0;
  WORKSPACE_SHARES.forEach((share, w) => {
    const business = BUSINESSES[w % BUSINESSES.length] as string;
    const target = Math.round(CHUNKS * share);
    let made = 0;
    while (made < target) {
      const d = documents.length;
      const topic = TOPIC_NAMES[Math.floor(rand() * TOPIC_NAMES.length)] as string;
      const other = TOPIC_NAMES[Math.floor(rand() * TOPIC_NAMES.length)] as string;
      // 2% of documents are inactive; 3% are being re-indexed (their version-1 chunks are stale).
      const active = rand() >= 0.02;
      const reindexed = rand() < 0.03;
      const indexedVersion = reindexed ? 2 : 1;
      documents.push({ id: `doc_bench_${d}`, workspace: w, title: `${business} ${topic} and ${other}`, active, indexedVersion });
      const versions = reindexed ? [1, 2] : [1];
      for (const version of versions) {
        for (let i = 0; i < CHUNKS_PER_DOCUMENT && made < target; i++, made++) {
          const vocab = [...(TOPICS[topic] as string[]), ...(TOPICS[other] as string[]).slice(0, 4)];
          const n = 4 + Math.floor(rand() * 5);
          const content = Array.from({ length: n }, () => sentence(rand, business, vocab)).join(' ');
          const start = performance.now();
          const vector = offlineEmbedding(`${documents[d]?.title}\n\n${content}`);
          embedMs += performance.now() - start;
          const embedding = Float32Array.from(vector);
          embedBytes += content.length;
          chunks.push({ id: `chunk_bench_${chunks.length}`, workspace: w, document: d, version, index: i, content, embedding, live: active && version === indexedVersion });
        }
      }
    }
  });
  const queries: Dataset['queries'] = [];
  for (let q = 0; q < QUERIES; q++) {
    const w = q % workspaces.length;
    const topic = TOPICS[TOPIC_NAMES[Math.floor(rand() * TOPIC_NAMES.length)] as string] as string[];
    const a = topic[Math.floor(rand() * topic.length)] as string;
    const b = topic[Math.floor(rand() * topic.length)] as string;
    const forms = [`Do you have ${a}?`, `how does ${a} work with ${b}`, `What about ${a} and ${b}, is it free?`, `¿${a} incluye ${b}?`, `${a}!!! "${b}" -- asap :)`];
    const text = forms[q % forms.length] as string;
    queries.push({ workspace: w, text, embedding: offlineEmbedding(text) });
  }
  return { workspaces, documents, chunks, queries, embedMsPer1kB: (embedMs / embedBytes) * 1024 };
}

// --- loading --------------------------------------------------------------------------------

async function insertChunks(db: Queryable, data: Dataset, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += BATCH) {
    const batch = data.chunks.slice(start, Math.min(to, start + BATCH));
    await db.query(
      `insert into knowledge_chunks (id, workspace_id, document_id, document_version, chunk_index, content, embedding, tsv)
       select u.id, d.workspace_id, d.id, u.version, u.idx, u.content, u.embedding::vector, ${tsvectorSql('d.title', 'u.content')}
         from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::text[]) as u(id, document_id, version, idx, content, embedding)
         join knowledge_documents d on d.id = u.document_id`,
      [
        batch.map((c) => c.id),
        batch.map((c) => data.documents[c.document]?.id),
        batch.map((c) => c.version),
        batch.map((c) => c.index),
        batch.map((c) => c.content),
        batch.map((c) => vectorLiteral(c.embedding)),
      ],
    );
  }
}

interface LoadStats {
  withIndexRowsPerSec: number;
  withoutIndexRowsPerSec: number;
  indexBuildMs: number;
}

async function load(database: Database, data: Dataset): Promise<LoadStats> {
  const client = await database.pool.connect();
  try {
    // The graph of 50k x 1536 floats needs ~400 MB to be built in memory (much slower otherwise).
    await client.query(`set maintenance_work_mem = '${database.kind === 'pglite' ? '512MB' : '1GB'}'`);
    await client.query(`insert into workspaces (id, name) select id, id from unnest($1::text[]) as id`, [data.workspaces]);
    await client.query(
      `insert into knowledge_documents (id, workspace_id, title, content, content_type, active, version, indexed_version, status)
       select u.id, u.ws, u.title, '', 'text', u.active, u.v, u.v, 'ready'
         from unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::int[]) as u(id, ws, title, active, v)`,
      [
        data.documents.map((d) => d.id),
        data.documents.map((d) => data.workspaces[d.workspace]),
        data.documents.map((d) => d.title),
        data.documents.map((d) => d.active),
        data.documents.map((d) => d.indexedVersion),
      ],
    );
    let t = performance.now();
    await insertChunks(client, data, 0, LOAD_WITH_INDEX);
    const withIndexRowsPerSec = LOAD_WITH_INDEX / ((performance.now() - t) / 1000);
    // Inserting into an HNSW graph one row at a time is much slower than building it once, so the
    // bench's own database drops the migration's index, loads, and builds the same index again.
    await client.query('drop index knowledge_chunks_embedding_idx');
    t = performance.now();
    await insertChunks(client, data, LOAD_WITH_INDEX, data.chunks.length);
    const withoutIndexRowsPerSec = (data.chunks.length - LOAD_WITH_INDEX) / ((performance.now() - t) / 1000);
    t = performance.now();
    await client.query('create index knowledge_chunks_embedding_idx on knowledge_chunks using hnsw (embedding vector_cosine_ops)');
    const indexBuildMs = performance.now() - t;
    await client.query('analyze knowledge_chunks');
    await client.query('analyze knowledge_documents');
    return { withIndexRowsPerSec, withoutIndexRowsPerSec, indexBuildMs };
  } finally {
    client.release();
  }
}

// --- measuring ------------------------------------------------------------------------------

const VECTOR_ONLY_SQL = `
select c.id, 1 - (c.embedding <=> $2::vector) as similarity
  from knowledge_chunks c
  join knowledge_documents d on d.workspace_id = c.workspace_id and d.id = c.document_id
 where c.workspace_id = $1 and d.active and c.document_version = d.indexed_version
 order by c.embedding <=> $2::vector
 limit $3`;

function progress(message: string): void {
  process.stderr.write(`  retrieval: ${message}\n`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function timed(fn: (i: number) => Promise<unknown>, n: number): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(i); // warm-up: caches, plans, JIT
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95) };
}

/** The exact 10 nearest live chunks of the workspace, by brute force in JS. */
function exactNeighbours(data: Dataset, workspace: number, query: number[], k: number): string[] {
  const scored: Array<[string, number]> = [];
  for (const c of data.chunks) {
    if (c.workspace !== workspace || !c.live) continue;
    let dot = 0;
    for (let i = 0; i < query.length; i++) dot += (query[i] as number) * (c.embedding[i] as number);
    scored.push([c.id, dot]);
  }
  return scored
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([id]) => id);
}

type Plan = 'HNSW' | 'exact';

async function vectorPlan(db: pg.Pool, text: string, values: unknown[]): Promise<Plan> {
  const { rows } = await db.query<{ 'QUERY PLAN': string }>(`explain ${text}`, values);
  return rows.some((r) => r['QUERY PLAN'].includes('knowledge_chunks_embedding_idx')) ? 'HNSW' : 'exact';
}

interface Measured {
  hybrid: { p50: number; p95: number };
  vectorOnly: { p50: number; p95: number };
  /** Per workspace: its share of the table, the plans of both queries, recall@10 of both vector sides. */
  workspaces: Array<{ share: number; planHybrid: Plan; planVectorOnly: Plan; recallHybrid: number; recallVectorOnly: number }>;
  recallHybrid: number;
  recallVectorOnly: number;
}

async function measure(db: pg.Pool, data: Dataset, exact: Map<number, Set<string>>): Promise<Measured> {
  const ws = (i: number) => data.workspaces[i] as string;
  const q = (i: number) => data.queries[i % data.queries.length] as Dataset['queries'][number];
  const hybrid = await timed((i) => hybridSearch(db, { workspaceId: ws(q(i).workspace), query: q(i).text, embedding: q(i).embedding, limit: LIMIT }), QUERIES);
  const vectorOnly = await timed((i) => db.query(VECTOR_ONLY_SQL, [ws(q(i).workspace), `[${q(i).embedding.join(',')}]`, LIMIT]), QUERIES);

  const hits = WORKSPACE_SHARES.map(() => ({ hybrid: 0, vectorOnly: 0, total: 0 }));
  for (const [i, expected] of exact) {
    const { workspace, embedding } = q(i);
    // An empty text query makes the hybrid search rank by vector only: its vector side, alone.
    const ours = await hybridSearch(db, { workspaceId: ws(workspace), query: '', embedding, limit: 10 });
    const { rows } = await db.query<{ id: string }>(VECTOR_ONLY_SQL, [ws(workspace), `[${embedding.join(',')}]`, 10]);
    const h = hits[workspace] as (typeof hits)[number];
    h.hybrid += ours.filter((r) => expected.has(r.chunkId)).length;
    h.vectorOnly += rows.filter((r) => expected.has(r.id)).length;
    h.total += expected.size;
  }
  const workspaces: Measured['workspaces'] = [];
  for (const [w, share] of WORKSPACE_SHARES.entries()) {
    const query = data.queries.find((x) => x.workspace === w) as Dataset['queries'][number];
    const statement = hybridSearchQuery({ workspaceId: ws(w), query: query.text, embedding: query.embedding, limit: LIMIT });
    const planHybrid = statement ? await vectorPlan(db, statement.text, statement.values) : 'exact';
    const planVectorOnly = await vectorPlan(db, VECTOR_ONLY_SQL, [ws(w), `[${query.embedding.join(',')}]`, LIMIT]);
    const h = hits[w] as (typeof hits)[number];
    workspaces.push({ share, planHybrid, planVectorOnly, recallHybrid: h.hybrid / h.total, recallVectorOnly: h.vectorOnly / h.total });
  }
  const sum = (k: 'hybrid' | 'vectorOnly') => hits.reduce((s, h) => s + h[k], 0) / hits.reduce((s, h) => s + h.total, 0);
  return { hybrid, vectorOnly, workspaces, recallHybrid: sum('hybrid'), recallVectorOnly: sum('vectorOnly') };
}

async function benchOn(label: string, database: Database, data: Dataset, exact: Map<number, Set<string>>): Promise<BenchRow[]> {
  await migrate(database.pool, defaultMigrationsDir());
  const t = performance.now();
  progress(`${label}: loading`);
  const loaded = await load(database, data);
  const loadS = (performance.now() - t) / 1000;
  progress(`${label}: loaded in ${loadS.toFixed(0)} s, querying`);
  const m = await measure(database.pool, data, exact);
  const row = (metric: string, value: string): BenchRow => ({ bench: 'retrieval', metric: `${label}: ${metric}`, value });
  const ms = (x: { p50: number; p95: number }) => `${x.p50.toFixed(1)} / ${x.p95.toFixed(1)}`;
  return [
    row(`load ${data.chunks.length} chunks, total s`, loadS.toFixed(1)),
    row('insert rows/s with the HNSW index / without', `${loaded.withIndexRowsPerSec.toFixed(0)} / ${loaded.withoutIndexRowsPerSec.toFixed(0)}`),
    row('HNSW index build s', (loaded.indexBuildMs / 1000).toFixed(1)),
    row(`hybrid search p50 / p95 ms (${QUERIES} queries, limit ${LIMIT})${label === 'Postgres server' ? ' (target p95 <= 50)' : ''}`, ms(m.hybrid)),
    row('baseline vector-only query p50 / p95 ms', ms(m.vectorOnly)),
    row('recall@10 of the vector side: hybrid / baseline', `${m.recallHybrid.toFixed(2)} / ${m.recallVectorOnly.toFixed(2)}`),
    row(
      'per workspace: share of the table: vector plan hybrid / baseline, recall@10 hybrid / baseline',
      m.workspaces
        .map((w) => `${Math.round(w.share * 100)}%: ${w.planHybrid} / ${w.planVectorOnly}, ${w.recallHybrid.toFixed(2)} / ${w.recallVectorOnly.toFixed(2)}`)
        .join('; '),
    ),
  ];
}

export async function run(): Promise<BenchRow[]> {
  const t = performance.now();
  const data = generate();
  const rows: BenchRow[] = [
    { bench: 'retrieval', metric: `generate + embed ${data.chunks.length} chunks, s`, value: ((performance.now() - t) / 1000).toFixed(1) },
    { bench: 'retrieval', metric: 'offline embedding ms per 1 KB of text', value: data.embedMsPer1kB.toFixed(3) },
  ];
  // The exact neighbours do not depend on the database: computed once, in JS.
  const exact = new Map<number, Set<string>>();
  for (let i = 0; i < RECALL_QUERIES; i++) {
    const query = data.queries[i % data.queries.length] as Dataset['queries'][number];
    exact.set(i, new Set(exactNeighbours(data, query.workspace, query.embedding, 10)));
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-retrieval-'));
  try {
    const pglite = await createDatabase({ dataDir });
    try {
      rows.push(...(await benchOn('embedded PGlite', pglite, data, exact)));
    } finally {
      await pglite.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const onServer = await withServerDatabase(async (url) => {
    const server = await createDatabase({ url, poolMax: 2 });
    try {
      return await benchOn('Postgres server', server, data, exact);
    } finally {
      await server.close();
    }
  });
  if (onServer) rows.push(...onServer);
  return rows;
}
