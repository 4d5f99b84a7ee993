import { z } from 'zod';
import { errors } from '../../lib/errors';
import { isId } from '../../lib/ids';
import type { RetrievedChunk } from '../knowledge/retrieval';
import type { UsageRecorder } from '../usage/usage.port';
import type { AgentRepo } from './agent-repo.port';
import { resolveAgentSettings, type AgentDefaults } from './agent-settings';
import { ModelFailedError, type AnswerModel, type ModelAnswer, type Retriever, type Turn } from './agent.port';
import type { AgentService } from './agent.service';
import { asksForHuman, matchedKeyword } from './handoff';

/**
 * POST /v1/query: ask the agent directly (a help desk's "suggest an answer", a test console).
 * The same retrieval, model and handoff rules as on WhatsApp, but nothing is stored or sent.
 */
export const querySchema = z.strictObject({
  message: z.string().trim().min(1, { message: 'message is required' }).max(4_096, { message: 'message is at most 4096 characters' }),
  conversation_id: z.string().max(100).optional(),
  stream: z.boolean({ message: 'stream must be true or false' }).default(false),
});
export type QueryInput = z.infer<typeof querySchema>;

/** The answer of POST /v1/query (and the `final` event of its stream); the OpenAPI document is built from it. */
export const queryAnswerSchema = z
  .object({
    object: z.literal('query_answer'),
    answer: z.string().meta({ description: 'Empty when the agent hands off.' }),
    confidence: z.number().min(0).max(1),
    extractive: z.boolean().meta({ description: 'True when the offline provider quoted a passage instead of a model writing the answer.' }),
    model: z.string(),
    sources: z.array(z.object({ chunk_id: z.string(), document_id: z.string(), title: z.string(), excerpt: z.string(), score: z.number() })),
    handoff: z.object({ requested: z.boolean(), reason: z.string().nullable() }),
    usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }),
  })
  .meta({ id: 'QueryAnswer', description: "The agent's answer, with its sources; nothing is stored or sent." });
export type QueryResult = z.output<typeof queryAnswerSchema>;

export type QueryStreamEvent = { type: 'delta'; text: string } | { type: 'final'; result: QueryResult };

export interface QueryService {
  ask(workspace: { id: string; name: string; settings: Record<string, unknown> }, input: QueryInput): Promise<QueryResult>;
  stream(workspace: { id: string; name: string; settings: Record<string, unknown> }, input: QueryInput): AsyncGenerator<QueryStreamEvent>;
}

const excerpt = (s: string) => (s.length > 300 ? `${s.slice(0, 297).trimEnd()}...` : s);

export function createQueryService(deps: {
  repo: Pick<AgentRepo, 'context'>;
  agent: Pick<AgentService, 'history'>;
  retriever: Retriever;
  model: AnswerModel;
  usage: UsageRecorder;
  defaults: AgentDefaults;
  passages: number;
}): QueryService {
  async function prepare(workspace: { id: string; name: string; settings: Record<string, unknown> }, input: QueryInput) {
    const s = resolveAgentSettings(workspace.name, workspace.settings.agent, deps.defaults);
    let history: Turn[] = [];
    if (input.conversation_id !== undefined) {
      const ctx = isId('conversation', input.conversation_id) ? await deps.repo.context(workspace.id, input.conversation_id) : null;
      if (!ctx) throw errors.notFound('conversation', input.conversation_id);
      history = await deps.agent.history(workspace.id, ctx.conversationId, '\uffff');
    }
    const keyword = matchedKeyword(input.message, s.handoffKeywords);
    const person = keyword ? `keyword: ${keyword}` : asksForHuman(input.message) ? 'customer asked for a person' : null;
    const passages = person ? [] : await deps.retriever.retrieve(workspace.id, input.message, deps.passages);
    return { s, history, person, passages };
  }

  function result(m: ModelAnswer, passages: RetrievedChunk[], minConfidence: number): QueryResult {
    const a = m.answer;
    const byId = new Map(passages.map((p) => [p.chunkId, p]));
    const low = !a.handoff.requested && (a.confidence < minConfidence || a.reply.trim() === '');
    return {
      object: 'query_answer',
      answer: a.reply,
      confidence: a.confidence,
      extractive: m.extractive,
      model: m.model,
      sources: a.source_chunk_ids.flatMap((id) => {
        const p = byId.get(id);
        return p ? [{ chunk_id: p.chunkId, document_id: p.documentId, title: p.documentTitle, excerpt: excerpt(p.content), score: p.score }] : [];
      }),
      handoff: a.handoff.requested ? a.handoff : low ? { requested: true, reason: `low confidence (${a.confidence.toFixed(2)} < ${minConfidence})` } : { requested: false, reason: null },
      usage: { input_tokens: m.usage.inputTokens, output_tokens: m.usage.outputTokens },
    };
  }

  const handoffOnly = (reason: string, model: string): QueryResult => ({
    object: 'query_answer',
    answer: '',
    confidence: 0,
    extractive: false,
    model,
    sources: [],
    handoff: { requested: true, reason },
    usage: { input_tokens: 0, output_tokens: 0 },
  });

  return {
    async ask(workspace, input) {
      const p = await prepare(workspace, input);
      if (p.person) return handoffOnly(p.person, deps.model.name);
      try {
        const m = await deps.model.answer({ business: workspace.name, persona: p.s.persona, history: p.history, question: input.message, passages: p.passages });
        await deps.usage.record({ workspaceId: workspace.id, kind: 'chat', model: m.model, ...m.usage });
        return result(m, p.passages, p.s.minConfidence);
      } catch (e) {
        if (e instanceof ModelFailedError) return handoffOnly('the AI model is not answering', deps.model.name);
        throw e;
      }
    },

    async *stream(workspace, input) {
      const p = await prepare(workspace, input);
      if (p.person) {
        yield { type: 'final', result: handoffOnly(p.person, deps.model.name) };
        return;
      }
      try {
        for await (const e of deps.model.stream({ business: workspace.name, persona: p.s.persona, history: p.history, question: input.message, passages: p.passages })) {
          if (e.type === 'delta') yield e;
          else {
            await deps.usage.record({ workspaceId: workspace.id, kind: 'chat', model: e.answer.model, ...e.answer.usage });
            yield { type: 'final', result: result(e.answer, p.passages, p.s.minConfidence) };
          }
        }
      } catch (e) {
        if (!(e instanceof ModelFailedError)) throw e;
        yield { type: 'final', result: handoffOnly('the AI model is not answering', deps.model.name) };
      }
    },
  };
}
