import type { Logger } from '../../lib/logger';
import { newId } from '../../lib/ids';
import { estimateTokens } from '../knowledge/chunking';
import type { RetrievedChunk } from '../knowledge/retrieval';
import type { NewOutbound } from '../messages/outbound.port';
import type { OutboundMessage } from '../messages/outbound.schema';
import { splitText } from '../messages/split-text';
import type { UsageRecorder } from '../usage/usage.port';
import type { AgentRepo, ConversationContext, InboundForAgent } from './agent-repo.port';
import { resolveAgentSettings, type AgentDefaults, type AgentSettings } from './agent-settings';
import { ModelFailedError, type AnswerModel, type ConversationLocks, type ModelAnswer, type Retriever, type Transcriber, type Turn } from './agent.port';
import { describeMessage, isVoiceNote, needsAnswer } from './describe-message';
import { asksForHuman, matchedKeyword, normalizeQuestion } from './handoff';

/**
 * The agent's turn in a conversation (queue `agent`): under the conversation's lock, take every
 * inbound message not yet answered, and answer them with one reply from the knowledge base, or
 * hand the conversation to a person. Nothing happens unless the conversation is in bot mode, and
 * the mode is checked again in the transaction that stores the reply (a takeover during the
 * model call wins); the send worker checks it a third time right before Meta is called.
 */
export class LookAgainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LookAgainError';
  }
}

export class ConversationBusyError extends Error {
  constructor(conversationId: string) {
    super(`another worker is answering ${conversationId}`);
    this.name = 'ConversationBusyError';
  }
}

export type AgentOutcome =
  | { outcome: 'missing' | 'nothing' | 'no_answer_needed' | 'window_closed' }
  | { outcome: 'not_bot' | 'discarded'; mode: string }
  | { outcome: 'replied'; messageIds: string[]; confidence: number }
  | { outcome: 'handoff'; reason: string };

export interface AgentJob {
  workspaceId: string;
  conversationId: string;
  /** The message whose arrival queued the job: it must be visible before the job can finish. */
  messageId?: string;
  /** The webhook delivery's request id: on every log line of the turn and on its send jobs. */
  correlationId?: string;
}

export interface AudioSource {
  /** The stored audio of an inbound message, or why not (pending: still being fetched from Meta). */
  audio(workspaceId: string, messageId: string): Promise<{ status: 'stored'; data: Buffer; mimeType: string } | { status: 'pending' | 'unavailable' }>;
}

export interface AgentDeps {
  repo: AgentRepo;
  locks: ConversationLocks;
  retriever: Retriever;
  model: AnswerModel;
  transcriber?: Transcriber;
  audio?: AudioSource;
  usage: UsageRecorder;
  enqueueSend(numberId: string, job: { workspaceId: string; messageId: string; recipient: string; correlationId?: string }): Promise<void>;
  toGraphBody(msg: OutboundMessage): Record<string, unknown>;
  /** READ_RECEIPTS=on_answer: blue ticks once the agent has answered. */
  markRead?(items: { workspaceId: string; phoneNumberId: string; wamid: string }[]): Promise<void>;
  defaults: AgentDefaults;
  /** Token budget of the earlier conversation given to the model. */
  historyTokens: number;
  /** Passages retrieved per answer. */
  passages: number;
  logger: Logger;
  now?: () => Date;
}

export interface AgentService {
  /** `logger`: the job's (the worker binds its ids); else one bound to the job's correlation id. */
  run(job: AgentJob, opts?: { logger?: Logger }): Promise<AgentOutcome>;
  settings(ctx: Pick<ConversationContext, 'workspaceName' | 'settings'>): AgentSettings;
  /** The earlier conversation before `beforeId`, oldest first, within the token budget. */
  history(workspaceId: string, conversationId: string, beforeId: string): Promise<Turn[]>;
}

/** Whether a handoff reason says the question could not be answered (a knowledge gap), rather than "wants a person". */
const wantsPerson = (reason: string | null) => reason !== null && /\b(human|person|agent|representative|someone|staff|people)\b/i.test(reason);

export function createAgentService(deps: AgentDeps): AgentService {
  const plain = createAgentTurns(deps);
  return {
    ...plain,
    run(job, opts = {}) {
      const correlationId = job.correlationId;
      if (!opts.logger && !correlationId) return plain.run(job);
      // The turn's own deps: its log lines and the send jobs of its replies carry the job's ids.
      return createAgentTurns({
        ...deps,
        logger: opts.logger ?? deps.logger.child({ correlation_id: correlationId }),
        enqueueSend: correlationId ? (numberId, send) => deps.enqueueSend(numberId, { ...send, correlationId }) : deps.enqueueSend,
      }).run(job);
    },
  };
}

function createAgentTurns(deps: AgentDeps): AgentService {
  const now = deps.now ?? (() => new Date());
  const settings = (ctx: Pick<ConversationContext, 'workspaceName' | 'settings'>) =>
    resolveAgentSettings(ctx.workspaceName, ctx.settings.agent, deps.defaults);

  async function history(workspaceId: string, conversationId: string, beforeId: string): Promise<Turn[]> {
    const items = await deps.repo.history(workspaceId, conversationId, beforeId, 40);
    const turns: Turn[] = [];
    let budget = deps.historyTokens;
    for (const m of items) {
      const text = m.direction === 'in' ? describeMessage({ id: m.id, wamid: null, type: m.type, content: m.content, createdAt: new Date(0) }) : String(m.content.text ?? '');
      if (!text) continue;
      budget -= estimateTokens(text);
      if (budget < 0) break;
      turns.unshift({ role: m.direction === 'in' ? 'customer' : 'assistant', text });
    }
    return turns;
  }

  function outbound(ctx: ConversationContext, text: string): NewOutbound {
    const to = `+${ctx.contactWaId ?? ''}`;
    return {
      id: newId('message'),
      workspaceId: ctx.workspaceId,
      conversationId: ctx.conversationId,
      phoneNumberId: ctx.numberId,
      type: 'text',
      content: { text },
      author: 'bot',
      authorId: null,
      recipient: to,
      graphBody: deps.toGraphBody({ to, type: 'text', text: { body: text, preview_url: false } } as OutboundMessage),
      test: ctx.sandbox,
      metadata: {},
      replyToWamid: null,
    };
  }

  async function enqueue(ctx: ConversationContext, ids: string[]) {
    for (const messageId of ids) {
      // A failure leaves the row queued: the sweeper re-enqueues it.
      await deps.enqueueSend(ctx.numberId, { workspaceId: ctx.workspaceId, messageId, recipient: `+${ctx.contactWaId ?? ''}` }).catch((e: Error) =>
        deps.logger.warn({ conversation_id: ctx.conversationId, err: { message: e.message } }, 'send job not queued; the sweeper will retry'),
      );
    }
  }

  async function transcript(ctx: ConversationContext, m: InboundForAgent): Promise<string | null> {
    if (!deps.transcriber || !deps.audio) return null;
    const audio = await deps.audio.audio(ctx.workspaceId, m.id);
    if (audio.status === 'pending') throw new LookAgainError(`voice note ${m.id} is still being fetched`);
    if (audio.status !== 'stored') return null;
    try {
      const t = await deps.transcriber.transcribe(audio.data, audio.mimeType);
      await deps.usage.record({ workspaceId: ctx.workspaceId, kind: 'transcription', model: deps.transcriber.model, inputTokens: 0, outputTokens: estimateTokens(t.text) });
      return t.text.trim() || null;
    } catch (e) {
      deps.logger.warn({ message_id: m.id, err: { message: (e as Error).message } }, 'voice note transcription failed');
      return null;
    }
  }

  async function handoff(ctx: ConversationContext, s: AgentSettings, upTo: string, reason: string, question: string | null): Promise<AgentOutcome> {
    const r = await deps.repo.commitHandoff({
      workspaceId: ctx.workspaceId,
      conversationId: ctx.conversationId,
      answeredUpTo: upTo,
      reason,
      notice: windowOpen(ctx) ? outbound(ctx, s.handoffMessage) : null,
      gap: question ? { normalizedQuestion: normalizeQuestion(question), exampleQuestion: question, threshold: s.knowledgeGapThreshold } : null,
    });
    if (!r.committed) return { outcome: 'discarded', mode: r.mode };
    await enqueue(ctx, r.messages.map((m) => m.id));
    deps.logger.info({ conversation_id: ctx.conversationId, reason }, 'conversation handed to a person');
    return { outcome: 'handoff', reason };
  }

  const windowOpen = (ctx: ConversationContext) => ctx.windowExpiresAt !== null && ctx.windowExpiresAt.getTime() > now().getTime();

  async function answerLocked(job: AgentJob): Promise<AgentOutcome> {
    const ctx = await deps.repo.context(job.workspaceId, job.conversationId);
    if (!ctx) return { outcome: 'missing' };
    if (ctx.mode !== 'bot') return { outcome: 'not_bot', mode: ctx.mode };
    const messages = await deps.repo.unanswered(ctx.workspaceId, ctx.conversationId, ctx.lastAnsweredMessageId);
    // Jobs are queued after their message's commit, but earlier builds of the gateway queued
    // them just before it (a rolling upgrade runs both): the message may not be visible yet.
    // Answering without it would leave it unanswered with no job left.
    if (job.messageId && !messages.some((m) => m.id === job.messageId) && !(await deps.repo.messageExists(ctx.workspaceId, job.messageId))) {
      throw new LookAgainError(`message ${job.messageId} is not committed yet`);
    }
    const last = messages[messages.length - 1];
    if (!last) return { outcome: 'nothing' };
    const answerable = messages.filter(needsAnswer);
    if (answerable.length === 0) {
      await deps.repo.markAnswered(ctx.workspaceId, ctx.conversationId, last.id);
      return { outcome: 'no_answer_needed' };
    }
    const s = settings(ctx);
    if (!windowOpen(ctx)) {
      // Only templates may be sent now; the agent does not send templates on its own.
      await deps.repo.markAnswered(ctx.workspaceId, ctx.conversationId, last.id);
      deps.logger.warn({ conversation_id: ctx.conversationId }, 'the 24-hour window closed before the agent could answer');
      return { outcome: 'window_closed' };
    }

    const parts: string[] = [];
    let unheardVoice = 0;
    for (const m of answerable) {
      if (isVoiceNote(m)) {
        const text = await transcript(ctx, m);
        if (text) parts.push(`[voice note] ${text}`);
        else unheardVoice++;
      } else {
        const text = describeMessage(m);
        if (text) parts.push(text);
      }
    }
    const question = parts.join('\n');
    if (parts.length === 0 && unheardVoice > 0) return reply(ctx, last.id, [s.voiceNoteReply], { kind: 'voice_note_reply' }, answerable);

    const keyword = matchedKeyword(question, s.handoffKeywords);
    if (keyword) return handoff(ctx, s, last.id, `keyword: ${keyword}`, null);
    if (asksForHuman(question)) return handoff(ctx, s, last.id, 'customer asked for a person', null);

    const passages = await deps.retriever.retrieve(ctx.workspaceId, question, deps.passages);
    const turns = await history(ctx.workspaceId, ctx.conversationId, answerable[0]?.id ?? last.id);
    let result: ModelAnswer;
    try {
      result = await deps.model.answer({ business: ctx.workspaceName, persona: s.persona, history: turns, question, passages });
    } catch (e) {
      if (!(e instanceof ModelFailedError)) throw e;
      deps.logger.warn({ conversation_id: ctx.conversationId, err: { message: e.message } }, 'the model failed after its retries');
      return handoff(ctx, s, last.id, 'the AI model is not answering', null);
    }
    await deps.usage.record({ workspaceId: ctx.workspaceId, kind: 'chat', model: result.model, ...result.usage });
    const a = result.answer;
    if (a.handoff.requested) return handoff(ctx, s, last.id, a.handoff.reason ?? 'the model asked for a person', wantsPerson(a.handoff.reason) ? null : question);
    if (a.confidence < s.minConfidence || a.reply.trim() === '') {
      return handoff(ctx, s, last.id, `low confidence (${a.confidence.toFixed(2)} < ${s.minConfidence})`, question);
    }
    const known = new Map(passages.map((p) => [p.chunkId, p]));
    const sources = a.source_chunk_ids.flatMap((id) => (known.has(id) ? [sourceOf(known.get(id) as RetrievedChunk)] : []));
    return reply(ctx, last.id, splitText(a.reply), { kind: 'answer', confidence: a.confidence, sources, extractive: result.extractive, model: result.model }, answerable);
  }

  async function reply(ctx: ConversationContext, upTo: string, texts: string[], answer: Record<string, unknown>, answered: InboundForAgent[]): Promise<AgentOutcome> {
    const r = await deps.repo.commitReply({
      workspaceId: ctx.workspaceId,
      conversationId: ctx.conversationId,
      answeredUpTo: upTo,
      replies: texts.map((t) => outbound(ctx, t)),
      answer: { ...answer, in_reply_to: answered.map((m) => m.id) },
    });
    if (!r.committed) {
      deps.logger.info({ conversation_id: ctx.conversationId, mode: r.mode }, 'the conversation left bot mode during generation: answer discarded');
      return { outcome: 'discarded', mode: r.mode };
    }
    await enqueue(ctx, r.messages.map((m) => m.id));
    if (deps.markRead) {
      const items = answered.flatMap((m) => (m.wamid ? [{ workspaceId: ctx.workspaceId, phoneNumberId: ctx.numberId, wamid: m.wamid }] : []));
      await deps.markRead(items).catch(() => undefined);
    }
    return { outcome: 'replied', messageIds: r.messages.map((m) => m.id), confidence: typeof answer.confidence === 'number' ? answer.confidence : 1 };
  }

  return {
    settings,
    history,
    async run(job) {
      // A cheap look first: most jobs of conversations a person handles stop here, without a lock.
      const ctx = await deps.repo.context(job.workspaceId, job.conversationId);
      // A new customer's conversation is created in the same uncommitted transaction as the job's message.
      if (!ctx && job.messageId) throw new LookAgainError(`conversation ${job.conversationId} is not committed yet`);
      if (!ctx) return { outcome: 'missing' };
      if (ctx.mode !== 'bot') return { outcome: 'not_bot', mode: ctx.mode };
      const locked = await deps.locks.tryWithLock(job.conversationId, () => answerLocked(job));
      if (!locked.acquired) throw new ConversationBusyError(job.conversationId);
      return locked.value;
    },
  };
}

export function sourceOf(c: RetrievedChunk) {
  return { chunk_id: c.chunkId, document_id: c.documentId, title: c.documentTitle, score: c.score };
}
