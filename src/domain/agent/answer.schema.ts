import { z } from 'zod';

/**
 * What the agent must answer, validated by zod whichever model produced it. Every field is
 * required and nullable instead of optional, so the same schema works as OpenAI's strict
 * structured output.
 */
export const agentAnswerSchema = z.object({
  reply: z.string().describe("The message to send to the customer, in the customer's language. Empty when handing off."),
  confidence: z.number().min(0).max(1).describe('How sure you are that the reply is correct and grounded in the sources, 0 to 1.'),
  source_chunk_ids: z.array(z.string()).describe('Ids of the knowledge passages the reply relies on.'),
  handoff: z
    .object({
      requested: z.boolean().describe('True when the customer asks for a person or the question cannot be answered from the sources.'),
      reason: z.string().nullable().describe('Why a person should take over; null otherwise.'),
    })
    .describe('Whether a human agent should take over.'),
});

export type AgentAnswer = z.infer<typeof agentAnswerSchema>;
