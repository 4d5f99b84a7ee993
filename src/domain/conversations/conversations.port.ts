import type { MessageRow } from '../messages/message-view';
import type { NewOutbound } from '../messages/outbound.port';
import type { Page } from '../shared/pagination';

/** A person at the console: an id and a display name chosen by the business's own systems. */
export interface AgentRef {
  id: string;
  name: string | null;
}

export type ConversationMode = 'bot' | 'pending_human' | 'human';

/** A conversation with what a list or a console needs beside it (number, contact, last message). */
export interface ConversationRow {
  id: string;
  workspaceId: string;
  mode: ConversationMode;
  status: 'open' | 'closed';
  assigneeId: string | null;
  assigneeName: string | null;
  handoffReason: string | null;
  handoffAt: Date | null;
  lastInboundAt: Date | null;
  windowExpiresAt: Date | null;
  lastActivityAt: Date;
  humanActivityAt: Date | null;
  closedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  number: { id: string; phoneNumberId: string; displayNumber: string | null };
  contact: { id: string; waId: string | null; name: string | null };
  unreadCount: number;
  lastMessage: MessageRow | null;
}

export interface ConversationFilters {
  mode?: ConversationMode;
  status?: 'open' | 'closed';
  /** Our number id (num_...) or Meta's phone_number_id. */
  number?: string;
  /** An agent id, or "none" for conversations nobody holds. */
  assignee?: string;
  updatedSince?: Date;
  /** Part of the contact's name or number. */
  q?: string;
}

export interface Note {
  id: string;
  conversationId: string;
  authorId: string | null;
  authorName: string | null;
  body: string;
  createdAt: Date;
}

export type TakeoverResult =
  | { outcome: 'taken'; conversation: ConversationRow; cancelled: string[]; changed: boolean }
  | { outcome: 'held'; assignee: AgentRef }
  | { outcome: 'missing' };

export type HandbackResult =
  | { outcome: 'handed_back'; conversation: ConversationRow; changed: boolean; answerFrom: string | null }
  | { outcome: 'not_idle' }
  | { outcome: 'missing' };

export interface ConversationsRepo {
  list(workspaceId: string, filters: ConversationFilters, page: { limit: number; startingAfter?: string }): Promise<Page<ConversationRow>>;
  get(workspaceId: string, id: string): Promise<ConversationRow | null>;
  /** The transcript, newest first. */
  messages(workspaceId: string, id: string, page: { limit: number; startingAfter?: string }): Promise<Page<MessageRow>>;
  /**
   * Human mode with this assignee; cancels the bot's queued messages; refuses ("held") when
   * another agent holds it and `force` is false. One transaction, with the conversation locked.
   */
  takeover(workspaceId: string, id: string, agent: AgentRef, force: boolean): Promise<TakeoverResult>;
  /**
   * Back to bot mode. The bot answers later only the customer messages after the agent's last
   * reply when `answerUnanswered`, none otherwise; `answerFrom` is the message to schedule the
   * agent for (null: nothing to answer). `idleBefore`: only if no agent activity since then.
   */
  handback(
    workspaceId: string,
    id: string,
    p: { agent: AgentRef | null; reason: 'agent' | 'idle_timeout'; answerUnanswered: boolean; idleBefore?: Date },
  ): Promise<HandbackResult>;
  setStatus(workspaceId: string, id: string, status: 'open' | 'closed', agent: AgentRef | null): Promise<{ conversation: ConversationRow; changed: boolean } | null>;
  addNote(workspaceId: string, id: string, note: { id: string; agent: AgentRef | null; body: string }): Promise<Note | null>;
  notes(workspaceId: string, id: string, page: { limit: number; startingAfter?: string }): Promise<Page<Note> | null>;
  /**
   * Stores an agent's reply as queued, only while the conversation is in human mode (else
   * "not_taken"), and counts it as agent activity. One transaction with agent.replied.
   */
  insertAgentReply(m: NewOutbound, agent: AgentRef): Promise<MessageRow | 'not_taken'>;
  /** Conversations in human mode with no agent activity since `before`. */
  idle(before: Date, limit: number): Promise<{ workspaceId: string; id: string }[]>;
}
