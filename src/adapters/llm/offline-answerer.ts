import type { AgentAnswer } from '../../domain/agent/answer.schema';
import type { RetrievedChunk } from '../../domain/knowledge/retrieval';
import { conceptsOf, cosine, isStopword, offlineEmbedding, stem, words } from './offline-embeddings';

/**
 * The offline provider's answerer: no language model, so it quotes. It picks the passage that is
 * most relevant to the question, quotes its most relevant sentences, and says how relevant that
 * passage is on an absolute 0..1 scale, so the agent hands off instead of quoting something
 * unrelated. The reply is the quoted text only; the caller says that it comes from the offline
 * provider.
 */

/**
 * Below this relevance the answerer hands off. Tuned on test/fixtures/faq-*.json (see
 * test/integration/offline-retrieval.test.ts, which prints the distribution): answerable questions
 * score 0.21..1 on their best retrieved passage and 87% of them reach 0.35; unanswerable ones
 * score 0.05..0.40 and 91% stay below it.
 */
export const DEFAULT_MIN_RELEVANCE = 0.35;
export const NO_PASSAGE_REASON = 'no relevant passage in the knowledge base';

/** A cosine similarity at or above this counts as a full match (offline embeddings rarely go higher). */
const FULL_SIMILARITY = 0.4;
/** Weight of the term coverage in the relevance; the rest is the embedding similarity. */
const COVERAGE_WEIGHT = 0.6;
const MAX_SENTENCES = 3;
/** A passage this short is quoted whole. */
const SHORT_PASSAGE = 280;
/** Extra sentences must score at least this share of the best one. */
const NEIGHBOUR_SHARE = 0.5;

export type ExtractiveAnswer = AgentAnswer & { extractive: true; relevance: number };

interface Terms {
  /** Content words (no stopwords, no single letters) by stem, with their concepts. */
  words: Map<string, readonly string[]>;
  concepts: Set<string>;
}

function termsOf(text: string): Terms {
  const byStem = new Map<string, readonly string[]>();
  const concepts = new Set<string>();
  for (const w of words(text)) {
    if (isStopword(w) || (w.length === 1 && !/\d/.test(w))) continue;
    const wordConcepts = conceptsOf(w);
    byStem.set(stem(w), wordConcepts);
    for (const c of wordConcepts) concepts.add(c);
  }
  return { words: byStem, concepts };
}

/**
 * Share of the question's content words that the text has: the same stem, or a word of the same
 * concept. A question word that shares neither still counts half when a word of the text starts
 * with its first five letters (typos and inflections the stemmer misses: "pasword" / "password").
 */
function coverage(question: Terms, text: Terms): number {
  if (question.words.size === 0) return 0;
  let covered = 0;
  for (const [s, concepts] of question.words) {
    if (text.words.has(s) || concepts.some((c) => text.concepts.has(c))) covered += 1;
    else if (s.length >= 5 && [...text.words.keys()].some((t) => t.startsWith(s.slice(0, 5)))) covered += 0.5;
  }
  return covered / question.words.size;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

interface Question {
  terms: Terms;
  vector: number[];
}

const prepare = (question: string): Question => ({ terms: termsOf(question), vector: offlineEmbedding(question) });

/**
 * Absolute relevance (0..1) of a passage to a question: the share of the question's words the
 * passage has (see coverage) and the cosine similarity of their offline embeddings. The
 * similarity is computed here, on the title and content as the ingestion embeds them, rather
 * than taken from the search: a passage found by text alone has none, and this scale is the one
 * DEFAULT_MIN_RELEVANCE was tuned on.
 */
export function relevanceOf(question: string | Question, passage: Pick<RetrievedChunk, 'documentTitle' | 'content'>): number {
  const q = typeof question === 'string' ? prepare(question) : question;
  const text = `${passage.documentTitle}\n\n${passage.content}`;
  const similarity = cosine(q.vector, offlineEmbedding(text));
  const cov = coverage(q.terms, termsOf(text));
  return clamp01(COVERAGE_WEIGHT * cov + (1 - COVERAGE_WEIGHT) * clamp01(similarity / FULL_SIMILARITY));
}

/** Sentences of a passage: a line break, or . ! ? followed by a space, ends one. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=\S)|\n+/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The 1..3 sentences of the passage most relevant to the question, in their original order. */
export function quoteFrom(question: string, content: string): string {
  const sentences = splitSentences(content);
  if (content.length <= SHORT_PASSAGE || sentences.length <= 1) return content.trim();
  const q = termsOf(question);
  const qVector = offlineEmbedding(question);
  const scored = sentences.map((s, i) => ({ i, s, score: coverage(q, termsOf(s)) + 0.5 * Math.max(0, cosine(qVector, offlineEmbedding(s))) }));
  const ranked = [...scored].sort((a, b) => b.score - a.score || a.i - b.i);
  const best = ranked[0] as (typeof ranked)[number];
  const chosen = ranked.filter((x, rank) => rank < MAX_SENTENCES && (x === best || (x.score > 0 && x.score >= NEIGHBOUR_SHARE * best.score)));
  return chosen
    .sort((a, b) => a.i - b.i)
    .map((x) => x.s)
    .join(' ');
}

/** Quotes the best passage, or hands off when none is relevant enough. */
export function extractiveAnswer(question: string, passages: RetrievedChunk[], opts: { minRelevance?: number } = {}): ExtractiveAnswer {
  const minRelevance = opts.minRelevance ?? DEFAULT_MIN_RELEVANCE;
  const q = prepare(question);
  let best: { passage: RetrievedChunk; relevance: number } | undefined;
  for (const passage of passages) {
    const relevance = relevanceOf(q, passage);
    if (!best || relevance > best.relevance) best = { passage, relevance };
  }
  const relevance = best?.relevance ?? 0;
  // An empty passage has nothing to quote: hand off rather than send an empty reply.
  const reply = best && relevance >= minRelevance ? quoteFrom(question, best.passage.content) : '';
  if (!best || reply === '') {
    return { reply: '', confidence: relevance, source_chunk_ids: [], handoff: { requested: true, reason: NO_PASSAGE_REASON }, extractive: true, relevance };
  }
  return { reply, confidence: relevance, source_chunk_ids: [best.passage.chunkId], handoff: { requested: false, reason: null }, extractive: true, relevance };
}
