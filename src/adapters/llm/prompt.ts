import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { AnswerInput } from '../../domain/agent/agent.port';

/**
 * The agent's prompt: persona and rules, the retrieved passages with their ids (so the model
 * can cite them), the earlier conversation, then what the customer just said.
 */
export function buildMessages(input: AnswerInput): BaseMessage[] {
  const p = input.persona;
  const passages = input.passages.length
    ? input.passages.map((c) => `[${c.chunkId}] (${c.documentTitle})\n${c.content}`).join('\n\n')
    : '(no passage matched this question)';
  const system = [
    `You are ${p.name}, the WhatsApp assistant of ${input.business}. Your tone: ${p.tone}.`,
    p.instructions ? `Instructions from the business:\n${p.instructions}` : '',
    'Rules:',
    "- Answer the customer's latest message using only the knowledge passages below. Never invent facts, prices, times or policies.",
    '- Reply in the language the customer writes in. Keep it short and suited to WhatsApp: plain text, no headings or tables.',
    '- If the passages do not answer the question, do not guess: reply with an empty string, confidence 0, handoff.requested true and a short reason.',
    '- If the customer asks for a person (a human, an agent, someone from the team), set handoff.requested true with the reason "customer asked for a person".',
    '- confidence is how well the passages support your reply, from 0 to 1. source_chunk_ids lists the ids (in square brackets) of the passages you used.',
    '',
    'Knowledge passages:',
    passages,
  ]
    .filter((l) => l !== '')
    .join('\n');
  return [
    new SystemMessage(system),
    ...input.history.map((t) => (t.role === 'customer' ? new HumanMessage(t.text) : new AIMessage(t.text))),
    new HumanMessage(input.question),
  ];
}
