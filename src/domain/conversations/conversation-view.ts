import { messageView } from '../messages/message-view';
import { windowView } from '../messages/outbound.service';
import type { ConversationRow, Note } from './conversations.port';

/** The public JSON of a conversation: API responses and events use this shape. */
export function conversationView(c: ConversationRow, now: Date = new Date()) {
  return {
    object: 'conversation' as const,
    id: c.id,
    number: { id: c.number.id, phone_number_id: c.number.phoneNumberId, display_number: c.number.displayNumber },
    contact: { id: c.contact.id, wa_id: c.contact.waId, name: c.contact.name },
    mode: c.mode,
    status: c.status,
    assignee: c.assigneeId ? { id: c.assigneeId, name: c.assigneeName } : null,
    handoff: c.handoffReason || c.handoffAt ? { reason: c.handoffReason, at: c.handoffAt?.toISOString() ?? null } : null,
    window: windowView({ conversationId: c.id, lastInboundAt: c.lastInboundAt, windowExpiresAt: c.windowExpiresAt }, now),
    unread_count: c.unreadCount,
    last_message: c.lastMessage ? messageView(c.lastMessage) : null,
    last_activity_at: c.lastActivityAt.toISOString(),
    closed_at: c.closedAt?.toISOString() ?? null,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export function noteView(n: Note) {
  return {
    object: 'note' as const,
    id: n.id,
    conversation_id: n.conversationId,
    agent: n.authorId || n.authorName ? { id: n.authorId, name: n.authorName } : null,
    body: n.body,
    created_at: n.createdAt.toISOString(),
  };
}
