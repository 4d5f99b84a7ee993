import fc from 'fast-check';
import { hybridSearch, RRF_K, tsvectorSql } from '../../src/adapters/postgres/hybrid-search';
import { defaultMigrationsDir, migrate } from '../../src/adapters/postgres/migrator';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * Hybrid search on a real database (PGlite, or the server of TEST_DATABASE_URL): what a
 * workspace can see, how the two rankings are fused, and that no user text can break the query.
 * Embeddings are built by hand (mixes of a few axes) so the geometry is known.
 */
const DIMS = 1536;

/** A unit vector mostly along `axis`, tilted towards `towards` by `tilt` (0..1). */
function vec(axis: number, towards = axis, tilt = 0): number[] {
  const v = new Array<number>(DIMS).fill(0);
  v[axis] = 1 - tilt;
  v[towards] = (v[towards] as number) + tilt;
  const n = Math.hypot(...v.filter((x) => x !== 0));
  return v.map((x) => x / n);
}
/** A unit vector around `axis`, with deterministic noise of the given spread on 64 other axes. */
function near(axis: number, spread: number, seed: number): number[] {
  const v = new Array<number>(DIMS).fill(0);
  v[axis] = 1;
  let x = seed;
  for (let i = 0; i < 64; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    v[600 + i * 7] = (x / 2 ** 32 - 0.5) * spread;
  }
  const n = Math.hypot(...v.filter((y) => y !== 0));
  return v.map((y) => y / n);
}
const literal = (v: number[]) => `[${v.join(',')}]`;

describe('hybrid search', () => {
  let db: TestDatabase;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.pool, defaultMigrationsDir());
    await db.pool.query(`insert into workspaces (id, name) values ('ws_a', 'A'), ('ws_b', 'B'), ('ws_c', 'C'), ('ws_d', 'D'), ('ws_e', 'E')`);
  });
  afterAll(async () => {
    await db.close();
  });

  async function doc(workspace: string, title: string, o: { active?: boolean; indexedVersion?: number | null } = {}): Promise<string> {
    const id = `doc_${++seq}`;
    const indexed = o.indexedVersion === undefined ? 1 : o.indexedVersion;
    await db.pool.query(
      `insert into knowledge_documents (id, workspace_id, title, content, content_type, active, version, indexed_version, status)
       values ($1, $2, $3, '', 'text', $4, $5, $6, 'ready')`,
      [id, workspace, title, o.active ?? true, Math.max(1, indexed ?? 1), indexed],
    );
    return id;
  }

  async function chunk(documentId: string, content: string, embedding: number[], version = 1): Promise<string> {
    const id = `chunk_${++seq}`;
    await db.pool.query(
      `insert into knowledge_chunks (id, workspace_id, document_id, document_version, chunk_index, content, embedding, tsv)
       select $1, d.workspace_id, d.id, $3, $4, $5, $6::vector, ${tsvectorSql('d.title', '$5::text')}
         from knowledge_documents d where d.id = $2`,
      [id, documentId, version, seq, content, literal(embedding)],
    );
    return id;
  }

  const search = (workspaceId: string, query: string, embedding: number[], limit = 10) => hybridSearch(db.pool, { workspaceId, query, embedding, limit });

  it("sees only the workspace's own chunks", async () => {
    const a = await chunk(await doc('ws_a', 'Opening hours'), 'We open at seven every morning.', vec(1));
    const b = await chunk(await doc('ws_b', 'Opening hours'), 'We open at seven every morning.', vec(1));
    const inA = await search('ws_a', 'when do you open', vec(1));
    const inB = await search('ws_b', 'when do you open', vec(1));
    expect(inA.map((r) => r.chunkId)).toEqual([a]);
    expect(inB.map((r) => r.chunkId)).toEqual([b]);
    expect(inA[0]).toMatchObject({ documentTitle: 'Opening hours', content: 'We open at seven every morning.' });
    expect(await search('ws_nobody', 'when do you open', vec(1))).toEqual([]);
  });

  it("leaves out inactive documents and chunks that are not their document's indexed version", async () => {
    const live = await chunk(await doc('ws_c', 'Parking'), 'Parking garage across the road.', vec(2));
    await chunk(await doc('ws_c', 'Parking (old)', { active: false }), 'Parking garage across the road.', vec(2));
    const reindexed = await doc('ws_c', 'Parking v2', { indexedVersion: 2 });
    await chunk(reindexed, 'Parking garage, old text.', vec(2), 1);
    const current = await chunk(reindexed, 'Parking garage, new text.', vec(2), 2);
    // Chunks of a version being written, not yet flipped in, and of a never-indexed document.
    await chunk(reindexed, 'Parking garage, next text.', vec(2), 3);
    await chunk(await doc('ws_c', 'Parking draft', { indexedVersion: null }), 'Parking garage draft.', vec(2));
    const found = await search('ws_c', 'parking garage', vec(2));
    expect(found.map((r) => r.chunkId).sort()).toEqual([live, current].sort());
  });

  describe('with two rankings', () => {
    let both: string;
    let textOnly: string;
    let vectorOnly: string;
    const query = vec(3);

    beforeAll(async () => {
      const d = await doc('ws_d', 'Menu');
      // 50 fillers near the query and without its words fill the vector candidates (40).
      for (let i = 0; i < 50; i++) await chunk(d, `Filler passage number ${i} about pastries.`, vec(3, 100 + i, 0.3 + i * 0.005));
      vectorOnly = await chunk(d, 'Nothing in common with the words of the question.', vec(3));
      both = await chunk(d, 'Our gluten-free brownies are baked daily.', vec(3, 99, 0.28));
      // Far from the query (outside the vector candidates), but the only other one with "brownies".
      textOnly = await chunk(d, 'Brownies, brownies, gluten-free brownies, with walnuts.', vec(200));
    });

    it('returns text-only and vector-only matches, with the signals that ranked them', async () => {
      const found = await search('ws_d', 'Do you sell gluten-free brownies?', query, 5);
      const byId = new Map(found.map((r) => [r.chunkId, r]));
      expect(byId.get(vectorOnly)).toMatchObject({ textRank: null });
      expect(byId.get(vectorOnly)?.similarity).toBeCloseTo(1, 5);
      expect(byId.get(textOnly)).toMatchObject({ similarity: null });
      expect(byId.get(textOnly)?.textRank).toBeGreaterThan(0);
      expect(byId.get(both)?.similarity).toBeGreaterThan(0.9);
      expect(byId.get(both)?.textRank).toBeGreaterThan(0);
    });

    it('fuses them by reciprocal rank: a chunk high in both beats the best of either alone', async () => {
      const found = await search('ws_d', 'Do you sell gluten-free brownies?', query, 5);
      // `both` is 2nd by vector and 2nd by text; vectorOnly and textOnly are 1st in one list only.
      expect(found[0]?.chunkId).toBe(both);
      expect(found[0]?.score).toBeCloseTo(2 / (RRF_K + 2), 10);
      expect(found.slice(1, 3).map((r) => r.chunkId).sort()).toEqual([textOnly, vectorOnly].sort());
      expect(found[1]?.score).toBeCloseTo(1 / (RRF_K + 1), 10);
      for (let i = 1; i < found.length; i++) expect(found[i]?.score).toBeLessThanOrEqual(found[i - 1]?.score as number);
      expect(found).toHaveLength(5);
    });

    it('ranks by vector alone when the query has no words, and by text alone without an embedding', async () => {
      const byVector = await search('ws_d', '', query, 3);
      expect(byVector[0]?.chunkId).toBe(vectorOnly);
      expect(byVector.every((r) => r.textRank === null)).toBe(true);
      const byText = await search('ws_d', 'brownies', new Array<number>(DIMS).fill(0), 3);
      expect(byText.map((r) => r.chunkId).sort()).toEqual([both, textOnly].sort());
      expect(byText.every((r) => r.similarity === null)).toBe(true);
      expect(await search('ws_d', '?!', new Array<number>(DIMS).fill(0), 3)).toEqual([]);
      expect(await search('ws_d', 'brownies', query, 0)).toEqual([]);
    });
  });

  it('accepts any user text: punctuation, tsquery syntax, quotes, emojis, other scripts', async () => {
    const d = await doc('ws_a', 'Allergens');
    const id = await chunk(d, "Nuts, sesame & milk: ask the barista! (it's on the list)", vec(4));
    const nasty = ["'", '"', '\\', '&', '|', '!', '(', ')', ':*', "a & b | !c <-> 'd':*", "it's", '🙂☕️', 'ñandú café', '東京 コーヒー', '--', ';drop table x', '\u0000', ' ', 'AND OR NOT'];
    for (const q of nasty) {
      const found = await search('ws_a', q, vec(4));
      expect(found.map((r) => r.chunkId)).toContain(id);
    }
    const withWords = await search('ws_a', "(nuts) & 'sesame' | milk:* !!!", vec(4));
    expect(withWords.find((r) => r.chunkId === id)?.textRank).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })), async (q) => {
        await search('ws_a', q, vec(4), 3);
      }),
      { numRuns: 150 },
    );
  });

  it('finds the nearest chunks of a small workspace through the HNSW index', async () => {
    // 300 chunks of another workspace sit between the query and ws_e's 5 chunks: a plain HNSW
    // scan (it stops after ef_search = 40 candidates) then a workspace filter finds none of them.
    const other = await doc('ws_b', 'Crowd');
    const crowd = Array.from({ length: 300 }, (_, i) => literal(near(5, 0.5, i + 1)));
    await db.pool.query(
      `insert into knowledge_chunks (id, workspace_id, document_id, document_version, chunk_index, content, embedding, tsv)
       select 'crowd_' || i, 'ws_b', $1, 1, i, 'crowd', e::vector, to_tsvector('crowd')
         from unnest($2::text[]) with ordinality as u(e, i)`,
      [other, crowd],
    );
    const own = await doc('ws_e', 'Small');
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push(await chunk(own, `Small workspace passage ${i}.`, near(5, 2, 1000 + i)));
    const client = await db.pool.connect();
    try {
      // Make the planner take the index even on this small table, as it does on a large one.
      for (const off of ['enable_seqscan', 'enable_bitmapscan', 'enable_sort']) await client.query(`set ${off} = off`);
      await client.query('analyze knowledge_chunks');
      const plain = `select id from knowledge_chunks where workspace_id = 'ws_e' order by embedding <=> $1::vector limit 10`;
      const plan = await client.query<{ 'QUERY PLAN': string }>(`explain ${plain}`, [literal(vec(5))]);
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('knowledge_chunks_embedding_idx');
      // The plain HNSW query loses them; the hybrid search's vector side does not.
      expect((await client.query(plain, [literal(vec(5))])).rows.length).toBeLessThan(5);
      const found = await hybridSearch(client, { workspaceId: 'ws_e', query: '', embedding: vec(5), limit: 10 });
      expect(found.map((r) => r.chunkId).sort()).toEqual(mine.sort());
    } finally {
      await client.query('reset all');
      client.release();
    }
  });
});
