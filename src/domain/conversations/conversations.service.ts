import { AppError, errors } from '../../lib/errors';
import { isId, newId } from '../../lib/ids';
import type { Logger } from '../../lib/logger';
import type { Principal } from '../keys/api-keys.service';
import type { MessageRow } from '../messages/message-view';
import type { OutboundService } from '../messages/outbound.service';
import type { OutboundMessage } from '../messages/outbound.schema';
import type { Page } from '../shared/pagination';
import type { AgentRef, ConversationFilters, ConversationRow, ConversationsRepo, Note } from './conversations.port';

/**
 * What human agents do with a conversation: read it, take it over (the bot falls silent and its
 * queued messages are cancelled), reply, hand it back, close and reopen it, leave notes. Mode
 * changes happen in the repo's transactions with the conversation row locked; this service adds
 * the rules around them and what must happen after a commit (scheduling the bot again).
 */
export interface ConversationsService {
  list(workspaceId: string, filters: ConversationFilters, page: { limit: number; startingAfter?: string }): Promise<Page<ConversationRow>>;
  get(workspaceId: string, id: string): Promise<ConversationRow>;
  messages(workspaceId: string, id: string, page: { limit: number; startingAfter?: string }): Promise<Page<MessageRow>>;
  takeover(workspaceId: string, id: string, agent: AgentRef, force: boolean): Promise<{ conversation: ConversationRow; cancelled: string[] }>;
  /** `msg` is a POST /v1/messages body without `to` and `from`: they come from the conversation. */
  /** `ctx.correlationId` (the API request's id) goes on the reply's send job. */
  reply(principal: Principal, id: string, msg: Record<string, unknown>, agent: AgentRef | null, ctx?: { correlationId?: string }): Promise<MessageRow>;
  handback(workspaceId: string, id: string, agent: AgentRef | null): Promise<ConversationRow>;
  close(workspaceId: string, id: string, agent: AgentRef | null): Promise<ConversationRow>;
  reopen(workspaceId: string, id: string, agent: AgentRef | null): Promise<ConversationRow>;
  addNote(workspaceId: string, id: string, body: string, agent: AgentRef | null): Promise<Note>;
  notes(workspaceId: string, id: string, page: { limit: number; startingAfter?: string }): Promise<Page<Note>>;
  /** Hands back every conversation with no agent activity for the idle timeout; returns how many. */
  handBackIdle(): Promise<number>;
}

export interface ConversationsDeps {
  repo: ConversationsRepo;
  outbound: Pick<OutboundService, 'submit'>;
  parseMessage(body: unknown): OutboundMessage;
  /** Whether the bot answers what the customer wrote during a takeover (workspace setting). */
  answerAfterHandback(workspaceId: string): Promise<boolean>;
  scheduleAgent(items: { workspaceId: string; conversationId: string; messageId: string; round?: string }[]): Promise<void>;
  /** 0 disables the automatic handback. */
  humanIdleTimeoutMs: number;
  logger: Logger;
  now?: () => Date;
}

export function createConversationsService(deps: ConversationsDeps): ConversationsService {
  const now = deps.now ?? (() => new Date());

  const known = (id: string) => {
    if (!isId('conversation', id)) throw errors.notFound('conversation', id);
  };
  const found = <T>(value: T | null, id: string): T => {
    if (value === null) throw errors.notFound('conversation', id);
    return value;
  };

  async function afterHandback(workspaceId: string, id: string, answerFrom: string | null) {
    if (!answerFrom) return;
    // After the commit: if Redis is down now, the sweeper's re-drive of unanswered messages
    // does not cover this (the message was stored long ago), so say so loudly.
    await deps.scheduleAgent([{ workspaceId, conversationId: id, messageId: answerFrom, round: `handback${now().getTime()}` }]).catch((e: Error) =>
      deps.logger.warn({ conversation_id: id, err: { message: e.message } }, 'could not schedule the bot after a handback'),
    );
  }

  return {
    list: (workspaceId, filters, page) => deps.repo.list(workspaceId, filters, page),

    async get(workspaceId, id) {
      known(id);
      return found(await deps.repo.get(workspaceId, id), id);
    },

    async messages(workspaceId, id, page) {
      known(id);
      found(await deps.repo.get(workspaceId, id), id);
      return deps.repo.messages(workspaceId, id, page);
    },

    async takeover(workspaceId, id, agent, force) {
      known(id);
      const r = await deps.repo.takeover(workspaceId, id, agent, force);
      if (r.outcome === 'missing') throw errors.notFound('conversation', id);
      if (r.outcome === 'held') {
        throw new AppError({
          type: 'conflict_error',
          code: 'conversation_taken',
          status: 409,
          message: `${r.assignee.name ?? r.assignee.id} already holds this conversation; send "force": true to take it over anyway.`,
          details: { assignee: { id: r.assignee.id, name: r.assignee.name } },
        });
      }
      return { conversation: r.conversation, cancelled: r.cancelled };
    },

    async reply(principal, id, body, agent, ctx = {}) {
      known(id);
      const c = found(await deps.repo.get(principal.workspaceId, id), id);
      for (const field of ['to', 'from'] as const) {
        if (field in body) throw errors.invalidRequest(`${field}: unknown parameter (a reply goes to the conversation's customer from its number)`, field);
      }
      if (c.mode !== 'human') throw notTaken(c.mode);
      const author = agent ?? (c.assigneeId ? { id: c.assigneeId, name: c.assigneeName } : null);
      if (!author) throw notTaken(c.mode);
      if (!c.contact.waId) throw errors.invalidRequest('This customer has no WhatsApp number on record, so nothing can be sent to them.');
      const msg = deps.parseMessage({ ...body, to: `+${c.contact.waId}`, from: c.number.id });
      return deps.outbound.submit(principal, msg, { kind: 'agent', id: author.id }, {
        correlationId: ctx.correlationId,
        // Stored only while still in human mode (checked again under the conversation's lock).
        insert: async (m) => {
          const stored = await deps.repo.insertAgentReply(m, author);
          if (stored === 'not_taken') throw notTaken('bot');
          return stored;
        },
      });
    },

    async handback(workspaceId, id, agent) {
      known(id);
      const answerUnanswered = await deps.answerAfterHandback(workspaceId);
      const r = await deps.repo.handback(workspaceId, id, { agent, reason: 'agent', answerUnanswered });
      if (r.outcome !== 'handed_back') throw errors.notFound('conversation', id);
      await afterHandback(workspaceId, id, r.answerFrom);
      return r.conversation;
    },

    async close(workspaceId, id, agent) {
      known(id);
      return found(await deps.repo.setStatus(workspaceId, id, 'closed', agent), id).conversation;
    },

    async reopen(workspaceId, id, agent) {
      known(id);
      return found(await deps.repo.setStatus(workspaceId, id, 'open', agent), id).conversation;
    },

    async addNote(workspaceId, id, body, agent) {
      known(id);
      return found(await deps.repo.addNote(workspaceId, id, { id: newId('note'), agent, body }), id);
    },

    async notes(workspaceId, id, page) {
      known(id);
      return found(await deps.repo.notes(workspaceId, id, page), id);
    },

    async handBackIdle() {
      if (deps.humanIdleTimeoutMs <= 0) return 0;
      const before = new Date(now().getTime() - deps.humanIdleTimeoutMs);
      let count = 0;
      for (const c of await deps.repo.idle(before, 200)) {
        const answerUnanswered = await deps.answerAfterHandback(c.workspaceId);
        // Re-checked under the lock: an agent who replied a moment ago keeps the conversation.
        const r = await deps.repo.handback(c.workspaceId, c.id, { agent: null, reason: 'idle_timeout', answerUnanswered, idleBefore: before });
        if (r.outcome !== 'handed_back' || !r.changed) continue;
        count++;
        deps.logger.info({ conversation_id: c.id }, 'no agent activity for the idle timeout: conversation handed back to the bot');
        await afterHandback(c.workspaceId, c.id, r.answerFrom);
      }
      return count;
    },
  };
}

function notTaken(mode: string) {
  return new AppError({
    type: 'conflict_error',
    code: 'not_taken_over',
    status: 409,
    message: `Only a conversation taken over by an agent accepts replies (this one is in ${mode} mode): POST /v1/conversations/:id/takeover first.`,
    details: { mode },
  });
}
