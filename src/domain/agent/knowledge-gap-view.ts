import { z } from 'zod';
import type { KnowledgeGap } from './agent-repo.port';

const isoDate = z.iso.datetime().meta({ example: '2026-11-24T10:00:00.000Z' });

/** The documented shape of `knowledgeGapView` (GET /v1/knowledge-gaps); the OpenAPI document is built from it. */
export const knowledgeGapSchema = z
  .object({
    object: z.literal('knowledge_gap'),
    id: z.string().meta({ example: 'gap_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    question: z.string().meta({ description: 'An example of the question as a customer asked it.' }),
    normalized_question: z.string(),
    count: z.number().int().meta({ description: 'How often it went unanswered.' }),
    example_conversation_id: z.string().nullable(),
    first_asked_at: isoDate,
    last_asked_at: isoDate,
    notified_at: isoDate.nullable().meta({ description: 'When `knowledge_gap.detected` was written for it.' }),
  })
  .meta({ id: 'KnowledgeGap', description: 'A question the agent could not answer from the knowledge base.' });
export type KnowledgeGapView = z.output<typeof knowledgeGapSchema>;

export function knowledgeGapView(g: KnowledgeGap): KnowledgeGapView {
  return {
    object: 'knowledge_gap',
    id: g.id,
    question: g.exampleQuestion,
    normalized_question: g.normalizedQuestion,
    count: g.count,
    example_conversation_id: g.exampleConversationId,
    first_asked_at: g.firstAskedAt.toISOString(),
    last_asked_at: g.lastAskedAt.toISOString(),
    notified_at: g.notifiedAt ? g.notifiedAt.toISOString() : null,
  };
}
