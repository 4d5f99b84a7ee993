import type { Express } from 'express';
import request from 'supertest';
import { SCOPES } from '../../src/domain/keys/scopes';
import { createTestRuntime, type TestRuntime } from '../support/runtime';

/**
 * The knowledge base API and POST /v1/query with the offline provider (no OPENAI_API_KEY).
 * Index jobs are run by calling the service, so every step is deterministic.
 */
describe('knowledge base API and POST /v1/query (offline provider)', () => {
  let rt: TestRuntime;
  let app: Express;
  let key: string;
  let workspaceId: string;
  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });

  const indexAll = async () => {
    for (const job of await rt.services.knowledge.unindexed(new Date(Date.now() + 60_000), 100)) await rt.services.knowledge.index(job);
  };
  const create = async (body: Record<string, unknown>) => (await request(app).post('/v1/knowledge').set(auth()).send(body).expect(202)).body as { id: string; version: number };
  const search = async (query: string) =>
    (await request(app).post('/v1/knowledge/search').set(auth()).send({ query, limit: 5 }).expect(200)).body.data as { document_id: string; content: string; score: number }[];

  beforeAll(async () => {
    rt = await createTestRuntime();
    app = rt.app as Express;
    workspaceId = (await rt.services.tenancy.createWorkspace({ name: 'Bean There' })).id;
    key = (await rt.services.apiKeys.create({ workspaceId, name: 'kb', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });
  afterAll(() => rt.teardown());

  it('stores a document at once (202, pending) and indexes it into searchable chunks', async () => {
    const res = await request(app)
      .post('/v1/knowledge')
      .set(auth())
      .send({ title: 'Wifi', content: 'Free wifi for customers. The network is BeanThere-Guest and the password is printed on your receipt.', tags: ['store', 'store'] })
      .expect(202);
    expect(res.body).toMatchObject({ object: 'knowledge_document', status: 'pending', version: 1, indexed_version: null, content_type: 'text', tags: ['store'], active: true });
    await indexAll();
    const doc = await request(app).get(`/v1/knowledge/${res.body.id}`).set(auth()).expect(200);
    expect(doc.body).toMatchObject({ status: 'ready', indexed_version: 1, chunk_count: 1, embedding_model: 'offline-hashed-ngrams-v1' });
    const hits = await search('what is the wifi password?');
    expect(hits[0]?.document_id).toBe(res.body.id);
    expect(hits[0]?.score).toBeGreaterThan(0);
  });

  it('indexes HTML and Markdown as text, and splits long documents', async () => {
    const html = await create({ title: 'Allergens', content_type: 'html', content: '<h2>Allergens</h2><p>Our <b>almond croissant</b> contains nuts.</p><script>x()</script>' });
    const long = await create({ title: 'Beans', content_type: 'markdown', content: Array.from({ length: 12 }, (_, i) => `## Origin ${i}\n\n${'Single-origin beans roasted weekly in small batches. '.repeat(8)}`).join('\n\n') });
    await indexAll();
    const [chunk] = (await rt.db.pool.query<{ content: string }>('select content from knowledge_chunks where document_id = $1', [html.id])).rows;
    expect(chunk?.content).toContain('almond croissant contains nuts');
    expect(chunk?.content).not.toMatch(/<|x\(\)/);
    expect((await request(app).get(`/v1/knowledge/${long.id}`).set(auth()).expect(200)).body.chunk_count).toBeGreaterThan(3);
  });

  it('swaps the chunks of a new version atomically: search sees the old version until the new one is indexed', async () => {
    const doc = await create({ title: 'Closing time', content: 'We close at 6pm every day.' });
    await indexAll();
    const patched = await request(app).patch(`/v1/knowledge/${doc.id}`).set(auth()).send({ content: 'We close at 9pm every day since November.' }).expect(202);
    expect(patched.body).toMatchObject({ version: 2, indexed_version: 1, status: 'pending' });
    const before = (await search('what time do you close')).filter((h) => h.document_id === doc.id);
    expect(before.map((h) => h.content)).toEqual(['We close at 6pm every day.']);
    await indexAll();
    const after = (await search('what time do you close')).filter((h) => h.document_id === doc.id);
    expect(after.map((h) => h.content)).toEqual(['We close at 9pm every day since November.']);
    const versions = await rt.db.pool.query('select distinct document_version from knowledge_chunks where document_id = $1', [doc.id]);
    expect(versions.rows).toEqual([{ document_version: 2 }]);
  });

  it('an index job of a superseded version does nothing', async () => {
    const doc = await create({ title: 'Old', content: 'first text' });
    await request(app).patch(`/v1/knowledge/${doc.id}`).set(auth()).send({ content: 'second text' }).expect(202);
    expect(await rt.services.knowledge.index({ workspaceId, documentId: doc.id, version: 1 })).toEqual({ outcome: 'superseded', chunks: 0 });
    expect(await rt.services.knowledge.index({ workspaceId, documentId: doc.id, version: 2 })).toEqual({ outcome: 'indexed', chunks: 1 });
  });

  it('deactivating a document hides it from search without re-indexing; deleting removes its chunks', async () => {
    const doc = await create({ title: 'Pets', content: 'Dogs are welcome on the terrace.' });
    await indexAll();
    expect((await search('can I bring my dog')).some((h) => h.document_id === doc.id)).toBe(true);
    const off = await request(app).patch(`/v1/knowledge/${doc.id}`).set(auth()).send({ active: false }).expect(200);
    expect(off.body).toMatchObject({ active: false, version: 1, status: 'ready' });
    expect((await search('can I bring my dog')).some((h) => h.document_id === doc.id)).toBe(false);
    await request(app).delete(`/v1/knowledge/${doc.id}`).set(auth()).expect(200, { object: 'knowledge_document', id: doc.id, deleted: true });
    await request(app).get(`/v1/knowledge/${doc.id}`).set(auth()).expect(404);
    expect((await rt.db.pool.query('select 1 from knowledge_chunks where document_id = $1', [doc.id])).rows).toHaveLength(0);
    await request(app).delete(`/v1/knowledge/${doc.id}`).set(auth()).expect(404);
  });

  it('lists documents newest first with filters and a cursor, without their content', async () => {
    const page1 = await request(app).get('/v1/knowledge?limit=2').set(auth()).expect(200);
    expect(page1.body).toMatchObject({ object: 'list', has_more: true });
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.data[0].content).toBeUndefined();
    const page2 = await request(app).get(`/v1/knowledge?limit=2&starting_after=${page1.body.next_cursor}`).set(auth()).expect(200);
    expect(page2.body.data[0].id < page1.body.data[1].id).toBe(true);
    const tagged = await request(app).get('/v1/knowledge?tag=store').set(auth()).expect(200);
    expect(tagged.body.data.map((d: { title: string }) => d.title)).toEqual(['Wifi']);
    const titled = await request(app).get('/v1/knowledge?q=allerg').set(auth()).expect(200);
    expect(titled.body.data.map((d: { title: string }) => d.title)).toEqual(['Allergens']);
  });

  it.each([
    [{ content: 'x' }, 'title'],
    [{ title: 'x' }, 'content'],
    [{ title: 'x', content: '   ' }, 'content'],
    [{ title: 'x', content: 'y', content_type: 'pdf' }, 'content_type'],
    [{ title: 'x', content: 'y', tags: 'a' }, 'tags'],
    [{ title: 'x', content: 'y', source_url: 'ftp://x' }, 'source_url'],
    [{ title: 'x', content: 'y', active: 'yes' }, 'active'],
    [{ title: 'x', content: 'y', colour: 'red' }, 'colour'],
  ])('refuses %j with 400 naming %s', async (body, param) => {
    const before = (await rt.db.pool.query('select count(*)::int as n from knowledge_documents')).rows[0].n;
    const res = await request(app).post('/v1/knowledge').set(auth()).send(body).expect(400);
    expect(res.body.error.param).toBe(param);
    expect((await rt.db.pool.query('select count(*)::int as n from knowledge_documents')).rows[0].n).toBe(before);
  });

  it('refuses an empty patch and an empty search', async () => {
    const doc = await create({ title: 'Patch me', content: 'text' });
    await request(app).patch(`/v1/knowledge/${doc.id}`).set(auth()).send({}).expect(400);
    // A field left out keeps its value.
    await request(app).patch(`/v1/knowledge/${doc.id}`).set(auth()).send({ tags: ['keep'], active: false }).expect(200);
    const renamed = await request(app).patch(`/v1/knowledge/${doc.id}`).set(auth()).send({ title: 'Patched' }).expect(202);
    expect(renamed.body).toMatchObject({ title: 'Patched', tags: ['keep'], active: false, content: 'text', version: 2 });
    await request(app).post('/v1/knowledge/search').set(auth()).send({ query: '' }).expect(400);
    await request(app).post('/v1/knowledge/search').set(auth()).send({ query: 'x', limit: 500 }).expect(400);
  });

  it('replays POST /v1/knowledge with the same Idempotency-Key', async () => {
    const body = { title: 'Gift cards', content: 'Gift cards from 10 to 100 euros, sold at the counter.' };
    const a = await request(app).post('/v1/knowledge').set(auth()).set('Idempotency-Key', 'kb-1').send(body).expect(202);
    const b = await request(app).post('/v1/knowledge').set(auth()).set('Idempotency-Key', 'kb-1').send(body).expect(202);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    await request(app).post('/v1/knowledge').set(auth()).set('Idempotency-Key', 'kb-1').send({ ...body, title: 'Other' }).expect(422);
  });

  it('keeps workspaces apart and checks scopes', async () => {
    const other = await rt.services.tenancy.createWorkspace({ name: 'Other' });
    const otherKey = (await rt.services.apiKeys.create({ workspaceId: other.id, name: 'o', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    const mine = await create({ title: 'Secret recipe', content: 'Cardamom in the cold brew.' });
    await indexAll();
    await request(app).get(`/v1/knowledge/${mine.id}`).set(auth(otherKey)).expect(404);
    await request(app).patch(`/v1/knowledge/${mine.id}`).set(auth(otherKey)).send({ active: false }).expect(404);
    await request(app).delete(`/v1/knowledge/${mine.id}`).set(auth(otherKey)).expect(404);
    const theirs = await request(app).post('/v1/knowledge/search').set(auth(otherKey)).send({ query: 'cardamom cold brew' }).expect(200);
    expect(theirs.body.data).toEqual([]);
    const readOnly = (await rt.services.apiKeys.create({ workspaceId, name: 'ro', scopes: ['knowledge:read'], mode: 'live', source: 'cli' })).plaintext;
    await request(app).post('/v1/knowledge').set(auth(readOnly)).send({ title: 'x', content: 'y' }).expect(403);
    await request(app).post('/v1/query').set(auth(readOnly)).send({ message: 'hi' }).expect(403);
    await request(app).get('/v1/usage').set(auth(readOnly)).expect(403);
    await request(app).get('/v1/knowledge').expect(401);
  });

  describe('POST /v1/query', () => {
    it('quotes the best passage, marked extractive, with its source', async () => {
      const res = await request(app).post('/v1/query').set(auth()).send({ message: 'Is there wifi? what is the password' }).expect(200);
      expect(res.body).toMatchObject({ object: 'query_answer', extractive: true, model: 'offline-extractive', handoff: { requested: false } });
      expect(res.body.answer).toContain('BeanThere-Guest');
      expect(res.body.answer).toMatch(/offline/);
      expect(res.body.sources[0]).toMatchObject({ title: 'Wifi' });
      expect(res.body.confidence).toBeGreaterThan(0.3);
    });

    it('hands off for a person, and for a question the knowledge base cannot answer', async () => {
      const person = await request(app).post('/v1/query').set(auth()).send({ message: 'Quiero hablar con una persona' }).expect(200);
      expect(person.body.handoff).toEqual({ requested: true, reason: 'customer asked for a person' });
      const unknown = await request(app).post('/v1/query').set(auth()).send({ message: 'Who won the football world cup in 1966?' }).expect(200);
      expect(unknown.body.handoff.requested).toBe(true);
      expect(unknown.body.answer).toBe('');
    });

    it('streams text deltas then one final event as Server-Sent Events', async () => {
      const res = await request(app).post('/v1/query').set(auth()).send({ message: 'wifi password please', stream: true }).buffer(true).parse((r, cb) => {
        let data = '';
        r.on('data', (c: Buffer) => (data += c.toString()));
        r.on('end', () => cb(null, data));
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/event-stream/);
      const events = (res.body as string).split('\n\n').filter(Boolean).map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>,
      }));
      const deltas = events.filter((e) => e.event === 'delta');
      const final = events.filter((e) => e.event === 'final');
      expect(deltas.length).toBeGreaterThan(1);
      expect(final).toHaveLength(1);
      expect(deltas.map((d) => d.data.text).join('')).toBe(final[0]?.data.answer);
      expect(final[0]?.data.sources).toEqual(expect.arrayContaining([expect.objectContaining({ title: 'Wifi' })]));
    });

    it('refuses bad input and an unknown conversation', async () => {
      expect((await request(app).post('/v1/query').set(auth()).send({}).expect(400)).body.error.param).toBe('message');
      await request(app).post('/v1/query').set(auth()).send({ message: 'x', stream: 'yes' }).expect(400);
      await request(app).post('/v1/query').set(auth()).send({ message: 'x', conversation_id: 'conv_nope' }).expect(404);
    });
  });

  it('reads and changes the agent settings', async () => {
    const initial = await request(app).get('/v1/agent/settings').set(auth()).expect(200);
    expect(initial.body).toMatchObject({ object: 'agent_settings', persona: { name: 'Bean There assistant' }, min_confidence: 0.5, answer_after_handback: false });
    const changed = await request(app)
      .patch('/v1/agent/settings')
      .set(auth())
      .send({ persona: { name: 'Bea', tone: 'warm' }, handoff_keywords: ['refund'], min_confidence: 0.7 })
      .expect(200);
    expect(changed.body).toMatchObject({ persona: { name: 'Bea', tone: 'warm', instructions: '' }, handoff_keywords: ['refund'], min_confidence: 0.7 });
    const again = await request(app).patch('/v1/agent/settings').set(auth()).send({ persona: { instructions: 'Never promise delivery times.' } }).expect(200);
    expect(again.body.persona).toEqual({ name: 'Bea', tone: 'warm', instructions: 'Never promise delivery times.' });
    await request(app).patch('/v1/agent/settings').set(auth()).send({ min_confidence: 2 }).expect(400);
    await request(app).patch('/v1/agent/settings').set(auth()).send({ mood: 'happy' }).expect(400);
    const q = await request(app).post('/v1/query').set(auth()).send({ message: 'I want a refund' }).expect(200);
    expect(q.body.handoff).toEqual({ requested: true, reason: 'keyword: refund' });
  });

  it('reports usage and refuses a bad range', async () => {
    const res = await request(app).get('/v1/usage').set(auth()).expect(200);
    expect(res.body).toMatchObject({ object: 'usage', answers: 0, handoffs: 0, messages: { in: 0, out: 0 } });
    // The offline provider's embeddings are counted (estimated tokens, no cost).
    expect(res.body.models.find((m: { kind: string }) => m.kind === 'embedding')).toMatchObject({ model: 'offline-hashed-ngrams-v1', cost_usd: 0 });
    await request(app).get('/v1/usage?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z').set(auth()).expect(400);
    await request(app).get('/v1/usage?from=yesterday').set(auth()).expect(400);
  });
});
