import { cosine, OFFLINE_EMBEDDING_DIMENSIONS, offlineEmbedding, OfflineEmbeddings, stem } from './offline-embeddings';

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const sim = (a: string, b: string) => cosine(offlineEmbedding(a), offlineEmbedding(b));

describe('offline embeddings', () => {
  it('are deterministic, 1536-dimensional and L2-normalised', () => {
    const a = offlineEmbedding('Our opening hours are 7:00 to 19:00 on weekdays.');
    expect(a).toHaveLength(OFFLINE_EMBEDDING_DIMENSIONS);
    expect(norm(a)).toBeCloseTo(1, 10);
    expect(offlineEmbedding('Our opening hours are 7:00 to 19:00 on weekdays.')).toEqual(a);
    // Pinned: stored chunks were embedded with this function, so any change to it must come
    // with a new OFFLINE_EMBEDDING_MODEL name (embeddings.ts), which re-embeds every document.
    const nonZero = a.flatMap((x, i) => (x !== 0 ? [[i, Number(x.toFixed(6))]] : []));
    expect(nonZero.length).toBe(69);
    expect(nonZero.slice(0, 3)).toEqual([
      [13, -0.029028],
      [24, 0.233799],
      [54, -0.029028],
    ]);
  });

  it('give all zeros for a text without words, and never NaN', () => {
    for (const text of ['', '   ', '?!…', '🙂🙂', '-- "" ()']) {
      const v = offlineEmbedding(text);
      expect(v).toHaveLength(OFFLINE_EMBEDDING_DIMENSIONS);
      expect(v.every((x) => x === 0)).toBe(true);
    }
    expect(offlineEmbedding('a🙂b ü ß ∑ 東京').every((x) => Number.isFinite(x))).toBe(true);
  });

  it('ignore case and accents', () => {
    expect(offlineEmbedding('CAFÉ Crème')).toEqual(offlineEmbedding('cafe creme'));
  });

  it('bring inflections, typos and paraphrases closer than unrelated text', () => {
    expect(stem('prices')).toBe(stem('price'));
    expect(stem('opening')).toBe(stem('open'));
    expect(sim('what is the wifi pasword', 'The Wi-Fi password is on your receipt')).toBeGreaterThan(
      sim('what is the wifi pasword', 'Dogs are welcome on the terrace'),
    );
    expect(sim('How much does a latte cost?', 'Prices: a latte costs 3.80 EUR')).toBeGreaterThan(
      sim('How much does a latte cost?', 'We are closed on December 25'),
    );
  });

  it('relate common customer words across English, Spanish, Portuguese and French', () => {
    const dogs = 'Dogs are welcome on the terrace as long as they are on a lead.';
    const refunds = 'Refunds are issued to the original payment method within 5 days.';
    for (const q of ['¿Se admiten perros?', 'Posso levar o meu cão?', 'Les chiens sont acceptés ?']) {
      expect(sim(q, dogs)).toBeGreaterThan(sim(q, refunds));
    }
  });

  it('weigh stopwords far less than content words', () => {
    const base = offlineEmbedding('gluten free bread');
    expect(cosine(base, offlineEmbedding('is there any gluten free bread for me please'))).toBeGreaterThan(0.9);
    expect(cosine(base, offlineEmbedding('is there any vegan cake for me please'))).toBeLessThan(0.3);
  });

  it('are served through the LangChain Embeddings interface', async () => {
    const e = new OfflineEmbeddings();
    expect(await e.embedQuery('hello world')).toEqual(offlineEmbedding('hello world'));
    expect(await e.embedDocuments(['a cat', 'a dog'])).toEqual([offlineEmbedding('a cat'), offlineEmbedding('a dog')]);
  });
});
