import type { RetrievedChunk } from '../knowledge/retrieval';
import type { AgentAnswer } from './answer.schema';

/** A turn of the conversation as the model sees it. */
export interface Turn {
  role: 'customer' | 'assistant';
  text: string;
}

export interface AnswerInput {
  /** The business the agent speaks for (the workspace's name). */
  business: string;
  persona: { name: string; tone: string; instructions: string };
  /** Earlier turns, oldest first, already bounded to the history budget. */
  history: Turn[];
  /** What the customer said since the last answer (several messages joined). */
  question: string;
  passages: RetrievedChunk[];
}

export interface ModelAnswer {
  answer: AgentAnswer;
  /** True for the offline provider: the reply quotes a passage, no language model wrote it. */
  extractive: boolean;
  model: string;
  usage: { inputTokens: number; outputTokens: number };
}

export type AnswerStreamEvent = { type: 'delta'; text: string } | { type: 'final'; answer: ModelAnswer };

/** The model that writes answers: @langchain/openai, or the offline extractive answerer. */
export interface AnswerModel {
  readonly name: string;
  readonly extractive: boolean;
  /** Rejects with ModelFailedError when the model keeps failing after its retries. */
  answer(input: AnswerInput): Promise<ModelAnswer>;
  stream(input: AnswerInput): AsyncGenerator<AnswerStreamEvent>;
}

export class ModelFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelFailedError';
  }
}

export interface Transcriber {
  readonly model: string;
  transcribe(audio: Buffer, mimeType: string): Promise<{ text: string; seconds?: number }>;
}

export interface Retriever {
  retrieve(workspaceId: string, query: string, limit: number): Promise<RetrievedChunk[]>;
}

/** Only one worker answers a conversation at a time. */
export interface ConversationLocks {
  /** Runs fn holding the conversation's lock; `acquired: false` when another holder has it. */
  tryWithLock<T>(conversationId: string, fn: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }>;
}
