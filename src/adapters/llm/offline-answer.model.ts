import type { AnswerModel, ModelAnswer } from '../../domain/agent/agent.port';
import { extractiveAnswer } from './offline-answerer';

export const OFFLINE_MODEL = 'offline-extractive';

/**
 * The offline provider's answerer (no OPENAI_API_KEY): it quotes the best passage when it is
 * relevant enough and hands off otherwise. The reply says where it comes from and that it was
 * quoted automatically; it never pretends to be a language model.
 */
export function createOfflineAnswerModel(opts: { minRelevance?: number } = {}): AnswerModel {
  function answer(question: string, passages: Parameters<typeof extractiveAnswer>[1]): ModelAnswer {
    const a = extractiveAnswer(question, passages, { minRelevance: opts.minRelevance });
    const source = passages.find((p) => p.chunkId === a.source_chunk_ids[0]);
    const reply = a.reply && source ? `${a.reply}\n\n(Quoted from "${source.documentTitle}" by our offline assistant.)` : a.reply;
    return {
      answer: { reply, confidence: a.confidence, source_chunk_ids: a.source_chunk_ids, handoff: a.handoff },
      extractive: true,
      model: OFFLINE_MODEL,
      usage: { inputTokens: 0, outputTokens: 0 },
    };
  }
  return {
    name: OFFLINE_MODEL,
    extractive: true,
    async answer(input) {
      return answer(input.question, input.passages);
    },
    async *stream(input) {
      const final = answer(input.question, input.passages);
      // Word by word, so that a streaming client sees the same shape as with a model.
      for (const piece of final.answer.reply.match(/\S+\s*/g) ?? []) yield { type: 'delta' as const, text: piece };
      yield { type: 'final' as const, answer: final };
    },
  };
}
