import type { AIMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { agentAnswerSchema } from '../../domain/agent/answer.schema';
import { ModelFailedError, type AnswerModel, type ModelAnswer } from '../../domain/agent/agent.port';
import { estimateTokens } from '../../domain/knowledge/chunking';
import { buildMessages } from './prompt';

export interface OpenAiModelConfig {
  apiKey: string;
  /** Any OpenAI-compatible server (Ollama, vLLM, LiteLLM); OpenAI's when undefined. */
  baseUrl: string | undefined;
  model: string;
  timeoutMs: number;
  /** LangChain retries failed calls (429, 5xx, timeouts) with exponential backoff. */
  maxRetries: number;
}

export function createChatModel(cfg: OpenAiModelConfig): ChatOpenAI {
  return new ChatOpenAI({
    model: cfg.model,
    apiKey: cfg.apiKey,
    temperature: 0.2,
    timeout: cfg.timeoutMs,
    maxRetries: cfg.maxRetries,
    streamUsage: true,
    ...(cfg.baseUrl ? { configuration: { baseURL: cfg.baseUrl } } : {}),
  });
}

/**
 * Answers with @langchain/openai: the prompt of prompt.ts, structured output validated by the
 * same zod schema whatever the server (OpenAI's json_schema, or tool calling where that is
 * what LangChain picks for the model).
 */
export function createOpenAiAnswerModel(cfg: OpenAiModelConfig): AnswerModel {
  const llm = createChatModel(cfg);
  const structured = llm.withStructuredOutput(agentAnswerSchema, { name: 'answer', includeRaw: true });
  // Tool calling streams partial objects (json_schema only yields the final one through LangChain).
  const streaming = llm.withStructuredOutput(agentAnswerSchema, { name: 'answer', method: 'functionCalling' });

  const fail = (e: unknown): never => {
    throw new ModelFailedError(`${cfg.model}: ${(e as Error).message}`, { cause: e });
  };

  return {
    name: cfg.model,
    extractive: false,
    async answer(input): Promise<ModelAnswer> {
      const r = await structured.invoke(buildMessages(input)).catch(fail);
      const parsed = agentAnswerSchema.safeParse(r.parsed);
      if (!parsed.success) fail(new Error(`the model's answer does not match the schema: ${parsed.error.issues[0]?.message ?? ''}`));
      const usage = (r.raw as AIMessage).usage_metadata;
      return {
        answer: parsed.data as NonNullable<typeof parsed.data>,
        extractive: false,
        model: cfg.model,
        usage: { inputTokens: usage?.input_tokens ?? 0, outputTokens: usage?.output_tokens ?? 0 },
      };
    },
    async *stream(input) {
      const messages = buildMessages(input);
      let sent = '';
      let last: unknown;
      try {
        for await (const partial of await streaming.stream(messages)) {
          last = partial;
          const reply = typeof (partial as { reply?: unknown }).reply === 'string' ? (partial as { reply: string }).reply : '';
          if (reply.length > sent.length && reply.startsWith(sent)) {
            yield { type: 'delta' as const, text: reply.slice(sent.length) };
            sent = reply;
          }
        }
      } catch (e) {
        fail(e);
      }
      const parsed = agentAnswerSchema.safeParse(last);
      if (!parsed.success) fail(new Error("the model's streamed answer does not match the schema"));
      const answer = parsed.data as NonNullable<typeof parsed.data>;
      if (answer.reply.length > sent.length && answer.reply.startsWith(sent)) yield { type: 'delta' as const, text: answer.reply.slice(sent.length) };
      // Streamed structured output does not surface the usage chunk through LangChain: estimate.
      const inputText = messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
      yield {
        type: 'final' as const,
        answer: { answer, extractive: false, model: cfg.model, usage: { inputTokens: estimateTokens(inputText), outputTokens: estimateTokens(JSON.stringify(answer)) } },
      };
    },
  };
}
