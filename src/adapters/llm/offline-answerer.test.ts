import { agentAnswerSchema } from '../../domain/agent/answer.schema';
import type { RetrievedChunk } from '../../domain/knowledge/retrieval';
import { DEFAULT_MIN_RELEVANCE, extractiveAnswer, NO_PASSAGE_REASON, quoteFrom, relevanceOf, splitSentences } from './offline-answerer';

const chunk = (id: string, documentTitle: string, content: string, over: Partial<RetrievedChunk> = {}): RetrievedChunk => ({
  chunkId: id,
  documentId: `doc_${id}`,
  documentTitle,
  content,
  score: 0.03,
  similarity: 0.2,
  textRank: 0.1,
  ...over,
});

const HOURS = chunk(
  'hours',
  'Opening hours',
  'Bean There Coffee is open Monday to Friday from 7:00 to 19:00, and Saturday and Sunday from 8:00 to 17:00. ' +
    'On public holidays we open from 9:00 to 15:00. We close at 14:00 on December 24 and December 31, and we are closed ' +
    'on December 25 and January 1. The kitchen stops taking food orders 30 minutes before closing time.',
);
const PETS = chunk(
  'pets',
  'Dogs and pets',
  'Dogs are welcome on the terrace and in the front room as long as they are on a lead. We keep a water bowl by the door. ' +
    'For hygiene reasons animals are not allowed in the upstairs room. Assistance dogs are welcome everywhere.',
);
const WIFI = chunk('wifi', 'Wi-Fi', 'Free Wi-Fi is available. The password is printed on your receipt.');

describe('the extractive answerer', () => {
  it('quotes the most relevant sentences of a long passage, not the whole passage', () => {
    const a = extractiveAnswer('Are you open on Christmas day, December 25?', [HOURS], {});
    expect(a.handoff).toEqual({ requested: false, reason: null });
    expect(a.reply).toContain('closed on December 25');
    expect(a.reply.length).toBeLessThan(HOURS.content.length);
    expect(HOURS.content).toContain(a.reply.split('. ')[0] as string);
    expect(a.source_chunk_ids).toEqual(['hours']);
    expect(a.extractive).toBe(true);
  });

  it('quotes a short passage whole', () => {
    expect(extractiveAnswer('whats the wifi pasword?', [WIFI], {}).reply).toBe(WIFI.content);
  });

  it('picks the passage that answers the question, whatever its fused rank', () => {
    const a = extractiveAnswer('Can I bring my dog?', [HOURS, PETS], {});
    expect(a.source_chunk_ids).toEqual(['pets']);
    expect(a.reply).toMatch(/Dogs are welcome/);
  });

  it('reports an absolute relevance as its confidence, independent of the RRF score', () => {
    const relevant = extractiveAnswer('Can I bring my dog?', [PETS], {});
    const sameWithOtherScore = extractiveAnswer('Can I bring my dog?', [{ ...PETS, score: 0.0001 }], {});
    expect(relevant.confidence).toBe(relevant.relevance);
    expect(sameWithOtherScore.relevance).toBe(relevant.relevance);
    expect(relevant.relevance).toBeGreaterThan(DEFAULT_MIN_RELEVANCE);
    expect(relevant.relevance).toBeLessThanOrEqual(1);
    expect(relevanceOf('Do you repair mortgages for dentists?', PETS)).toBeLessThan(DEFAULT_MIN_RELEVANCE);
  });

  it('hands off, saying why, when no passage is relevant enough', () => {
    const a = extractiveAnswer('Will it rain tomorrow in Edinburgh?', [PETS, WIFI], {});
    expect(a).toMatchObject({ reply: '', source_chunk_ids: [], handoff: { requested: true, reason: NO_PASSAGE_REASON }, extractive: true });
    expect(a.confidence).toBeLessThan(DEFAULT_MIN_RELEVANCE);
    expect(extractiveAnswer('Can I bring my dog?', [], {})).toMatchObject({ reply: '', confidence: 0, relevance: 0, handoff: { requested: true } });
    // A passage with nothing to quote is no answer, however relevant its title.
    expect(extractiveAnswer('Can I bring my dog?', [chunk('empty', 'Dogs', '  ')], { minRelevance: 0 }).handoff.requested).toBe(true);
  });

  it('honours the minimum relevance it is given', () => {
    expect(extractiveAnswer('Can I bring my dog?', [PETS], { minRelevance: 1.01 }).handoff.requested).toBe(true);
    expect(extractiveAnswer('Will it rain tomorrow?', [PETS], { minRelevance: 0 }).handoff.requested).toBe(false);
  });

  it('always produces a valid AgentAnswer, even for odd input', () => {
    for (const q of ['', '???', '🙂', 'a'.repeat(5000), 'DROP TABLE x; --']) {
      for (const passages of [[], [PETS], [chunk('empty', 'Empty', '')]]) {
        const a = extractiveAnswer(q, passages, {});
        expect(agentAnswerSchema.safeParse(a).success).toBe(true);
        expect(a.relevance).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

describe('sentence quoting', () => {
  it('splits on sentence ends and line breaks', () => {
    expect(splitSentences('One. Two! Three?\nFour\n\nFive 3.5 EUR.')).toEqual(['One.', 'Two!', 'Three?', 'Four', 'Five 3.5 EUR.']);
  });

  it('keeps at most three sentences, in their original order', () => {
    const long = Array.from({ length: 10 }, (_, i) => `Sentence ${i} is about dogs and the terrace.`).join(' ');
    const quote = quoteFrom('dogs on the terrace', long);
    expect(splitSentences(quote).length).toBeLessThanOrEqual(3);
    expect(quote.startsWith('Sentence 0')).toBe(true);
  });
});
