import { z } from 'zod';
import { messageSchema, messageView } from '../messages/message-view';
import { windowSchema, windowView } from '../messages/outbound.service';
import type { ConversationRow, Note } from './conversations.port';

const nullableString = z.string().nullable();
const isoDate = z.iso.datetime().meta({ example: '2026-11-24T10:00:00.000Z' });

/** The documented shape of `conversationView` (the OpenAPI document is built from it). */
export const conversationSchema = z
  .object({
    object: z.literal('conversation'),
    id: z.string().meta({ example: 'conv_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    number: z.object({ id: z.string(), phone_number_id: z.string().meta({ description: "Meta's phone_number_id." }), display_number: nullableString }),
    contact: z.object({ id: z.string(), wa_id: nullableString, name: nullableString }),
    mode: z.enum(['bot', 'pending_human', 'human']),
    status: z.enum(['open', 'closed']),
    assignee: z.object({ id: z.string(), name: nullableString }).nullable().meta({ description: 'The human agent holding the conversation.' }),
    handoff: z.object({ reason: nullableString, at: isoDate.nullable() }).nullable().meta({ description: 'Why and when the bot last handed it to a person.' }),
    window: windowSchema,
    unread_count: z.number().int().meta({ description: 'Customer messages since the last outbound one.' }),
    last_message: messageSchema.nullable(),
    last_activity_at: isoDate,
    closed_at: isoDate.nullable(),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'Conversation', description: 'One customer on one of your numbers, with its mode (bot or human) and 24-hour window.' });
export type ConversationView = z.output<typeof conversationSchema>;

/** The public JSON of a conversation: API responses and events use this shape. */
export function conversationView(c: ConversationRow, now: Date = new Date()): ConversationView {
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

/** POST /v1/conversations/:id/takeover: the conversation, and the bot messages the takeover cancelled. */
export const takeoverSchema = conversationSchema
  .extend({ cancelled_message_ids: z.array(z.string()).meta({ description: 'Queued bot messages that will not be sent.' }) })
  .meta({ id: 'Takeover', description: 'The conversation after a takeover.' });
export type TakeoverView = z.output<typeof takeoverSchema>;

export const noteSchema = z
  .object({
    object: z.literal('note'),
    id: z.string().meta({ example: 'note_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    conversation_id: z.string(),
    agent: z.object({ id: nullableString, name: nullableString }).nullable(),
    body: z.string(),
    created_at: isoDate,
  })
  .meta({ id: 'Note', description: 'An internal note on a conversation; never sent to the customer.' });
export type NoteView = z.output<typeof noteSchema>;

export function noteView(n: Note): NoteView {
  return {
    object: 'note' as const,
    id: n.id,
    conversation_id: n.conversationId,
    agent: n.authorId || n.authorName ? { id: n.authorId, name: n.authorName } : null,
    body: n.body,
    created_at: n.createdAt.toISOString(),
  };
}
