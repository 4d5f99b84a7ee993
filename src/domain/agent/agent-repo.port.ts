import type { NormalizedContent } from '../ingress/normalize';
import type { MessageRow } from '../messages/message-view';
import type { NewOutbound } from '../messages/outbound.port';

export interface ConversationContext {
  workspaceId: string;
  workspaceName: string;
  settings: Record<string, unknown>;
  conversationId: string;
  mode: 'bot' | 'pending_human' | 'human';
  status: 'open' | 'closed';
  numberId: string;
  sandbox: boolean;
  contactWaId: string | null;
  lastAnsweredMessageId: string | null;
  windowExpiresAt: Date | null;
}

export interface InboundForAgent {
  id: string;
  wamid: string | null;
  type: string;
  content: NormalizedContent;
  createdAt: Date;
}

export interface HistoryItem {
  id: string;
  direction: 'in' | 'out';
  author: string;
  type: string;
  content: Record<string, unknown>;
}

export interface GapInput {
  normalizedQuestion: string;
  exampleQuestion: string;
  threshold: number;
}

export type CommitResult = { committed: true; messages: MessageRow[] } | { committed: false; mode: string };

export interface AgentRepo {
  context(workspaceId: string, conversationId: string): Promise<ConversationContext | null>;
  /** Inbound messages after `afterId` (all when null), oldest first. */
  unanswered(workspaceId: string, conversationId: string, afterId: string | null): Promise<InboundForAgent[]>;
  /** The latest messages before `beforeId`, newest first (the caller trims to its token budget). */
  history(workspaceId: string, conversationId: string, beforeId: string, limit: number): Promise<HistoryItem[]>;
  messageExists(workspaceId: string, messageId: string): Promise<boolean>;
  /**
   * In one transaction, only while the conversation is still in bot mode: store the replies
   * (queued) and mark the inbound messages up to `answeredUpTo` answered.
   */
  commitReply(p: { workspaceId: string; conversationId: string; answeredUpTo: string; replies: NewOutbound[]; answer: Record<string, unknown> }): Promise<CommitResult>;
  /**
   * In one transaction, only while in bot mode: move the conversation to pending_human, store
   * the handoff notice (if any), record the knowledge gap (if any), emit the events.
   */
  commitHandoff(p: {
    workspaceId: string;
    conversationId: string;
    answeredUpTo: string;
    reason: string;
    notice: NewOutbound | null;
    gap: GapInput | null;
  }): Promise<CommitResult>;
  /** Marks messages that need no answer (reactions, system notices) as handled. */
  markAnswered(workspaceId: string, conversationId: string, upTo: string): Promise<void>;
}

export interface KnowledgeGap {
  id: string;
  normalizedQuestion: string;
  exampleQuestion: string;
  exampleConversationId: string | null;
  count: number;
  firstAskedAt: Date;
  lastAskedAt: Date;
  notifiedAt: Date | null;
}

export interface KnowledgeGapsRepo {
  /** Most asked first. */
  list(workspaceId: string, filters: { minCount?: number }, page: { limit: number; startingAfter?: string }): Promise<{ items: KnowledgeGap[]; hasMore: boolean }>;
}
