import type { Page } from '../shared/pagination';
import type { MessageRow } from './message-view';

export interface SendingNumber {
  id: string;
  phoneNumberId: string;
  wabaId: string;
  sandbox: boolean;
}

export interface ConversationWindow {
  conversationId: string;
  lastInboundAt: Date | null;
  windowExpiresAt: Date | null;
}

export interface CatalogTemplate {
  status: string;
  components: { type?: string; format?: string; text?: string; buttons?: { type?: string; url?: string }[] }[];
}

export interface NewOutbound {
  id: string;
  workspaceId: string;
  conversationId: string;
  phoneNumberId: string;
  type: string;
  content: Record<string, unknown>;
  author: 'api' | 'agent' | 'bot';
  authorId: string | null;
  recipient: string;
  graphBody: Record<string, unknown>;
  test: boolean;
  metadata: Record<string, string>;
  replyToWamid: string | null;
}

export interface MessageFilters {
  conversationId?: string;
  status?: string;
  direction?: 'in' | 'out';
}

export interface OutboundRepo {
  numbers(workspaceId: string): Promise<SendingNumber[]>;
  /** The conversation with that customer on that number, created if new (with its contact). */
  ensureConversation(workspaceId: string, numberId: string, waId: string): Promise<ConversationWindow>;
  conversationWindow(workspaceId: string, conversationId: string): Promise<ConversationWindow | null>;
  contactWindow(workspaceId: string, numberId: string, waId: string): Promise<ConversationWindow | null>;
  template(workspaceId: string, wabaId: string, name: string, language: string): Promise<CatalogTemplate | null>;
  insert(m: NewOutbound): Promise<MessageRow>;
  get(workspaceId: string, id: string): Promise<MessageRow | null>;
  list(workspaceId: string, filters: MessageFilters, page: { limit: number; startingAfter?: string }): Promise<Page<MessageRow>>;
}
