import { z } from 'zod';

/**
 * The event catalog: every event type the gateway emits (outbox rows, the live stream, webhook
 * bodies) with a zod schema of its `data`. Webhook subscriptions are validated against it, and
 * tests check that every type written anywhere in src is here and that real events parse.
 * Objects are loose: adding a field to a payload is not a breaking change for subscribers.
 */
const isoDate = z.iso.datetime({ offset: true });
const nullableString = z.string().nullable();
const agentRef = z.looseObject({ id: nullableString, name: nullableString.optional() });
const contact = z.looseObject({ wa_id: nullableString, name: nullableString });

export const messagePayload = z.looseObject({
  object: z.literal('message'),
  id: z.string(),
  conversation_id: z.string(),
  phone_number_id: z.string(),
  direction: z.enum(['in', 'out']),
  wamid: nullableString,
  type: z.string(),
  content: z.record(z.string(), z.unknown()),
  author: z.string(),
  agent: z.looseObject({ id: nullableString, name: nullableString }).nullable(),
  status: z.string(),
  error: z.looseObject({ code: z.number(), title: nullableString, details: nullableString }).nullable(),
  timestamp: isoDate,
  reply_to: nullableString,
  pricing: z.looseObject({ category: nullableString, type: nullableString }).nullable(),
  test: z.boolean(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: isoDate,
  updated_at: isoDate,
});

export const conversationPayload = z.looseObject({
  object: z.literal('conversation'),
  id: z.string(),
  number: z.looseObject({ id: z.string(), phone_number_id: z.string(), display_number: nullableString }),
  contact: z.looseObject({ id: z.string(), wa_id: nullableString, name: nullableString }),
  mode: z.enum(['bot', 'pending_human', 'human']),
  status: z.enum(['open', 'closed']),
  assignee: agentRef.nullable(),
  handoff: z.looseObject({ reason: nullableString, at: isoDate.nullable() }).nullable(),
  window: z.looseObject({ open: z.boolean(), expires_at: isoDate.nullable() }),
  unread_count: z.number().int(),
  last_message: messagePayload.nullable(),
  last_activity_at: isoDate,
  closed_at: isoDate.nullable(),
  created_at: isoDate,
  updated_at: isoDate,
});

const mode = z.enum(['bot', 'pending_human', 'human']);
const statusChange = z.looseObject({ message: messagePayload, status_timestamp: isoDate.nullable().optional() });
const conversationChange = z.looseObject({ conversation: conversationPayload, agent: agentRef.nullable(), previous_mode: mode });

export const webhookEndpointPayload = z.looseObject({
  object: z.literal('webhook_endpoint'),
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  active: z.boolean(),
  disabled_reason: nullableString,
});

export const eventCatalog = {
  'message.received': {
    description: 'A customer sent a message (text, media, location, interactive reply, ...).',
    data: z.looseObject({ message: messagePayload, contact }),
  },
  'message.sent': { description: 'An outbound message was accepted by WhatsApp (it has a wamid).', data: statusChange },
  'message.delivered': { description: "An outbound message reached the customer's phone.", data: statusChange },
  'message.read': { description: 'The customer read an outbound message.', data: statusChange },
  'message.failed': { description: 'An outbound message could not be sent or delivered; `message.error` says why.', data: statusChange },
  'conversation.created': {
    description: 'The first message of a new customer on a number opened a conversation.',
    data: z.looseObject({ conversation_id: z.string(), phone_number_id: z.string(), contact }),
  },
  'conversation.handoff_requested': {
    description: 'The AI agent handed the conversation to a human (asked for, low confidence, repeated failure).',
    data: z.looseObject({
      conversation_id: z.string(),
      conversation: conversationPayload,
      mode: z.literal('pending_human'),
      reason: z.string(),
      notice: messagePayload.nullable(),
    }),
  },
  'conversation.takeover': {
    description: 'A human agent took the conversation over; queued bot messages were cancelled.',
    data: z.looseObject({
      conversation: conversationPayload,
      agent: agentRef.nullable(),
      previous_mode: mode,
      previous_assignee: agentRef.nullable(),
      cancelled_message_ids: z.array(z.string()),
    }),
  },
  'conversation.handback': {
    description: 'The conversation went back to the bot (by an agent, or after the idle timeout).',
    data: z.looseObject({
      conversation: conversationPayload,
      agent: agentRef.nullable(),
      reason: z.string(),
      previous_mode: mode,
      bot_answers_pending: z.boolean(),
    }),
  },
  'conversation.closed': { description: 'The conversation was closed.', data: conversationChange },
  'conversation.reopened': { description: 'A closed conversation was reopened.', data: conversationChange },
  'conversation.note_added': {
    description: 'An agent added an internal note (never sent to the customer).',
    data: z.looseObject({
      note: z.looseObject({ object: z.literal('note'), id: z.string(), conversation_id: z.string(), agent: agentRef.nullable(), body: z.string(), created_at: isoDate }),
    }),
  },
  'agent.replied': {
    description: 'A human agent replied in a taken-over conversation (the message is queued for sending).',
    data: z.looseObject({ message: messagePayload, agent: agentRef.nullable() }),
  },
  'knowledge_gap.detected': {
    description: 'The same unanswerable question was asked often enough to be worth a document.',
    data: z.looseObject({
      gap: z.looseObject({
        object: z.literal('knowledge_gap'),
        id: z.string(),
        question: z.string(),
        normalized_question: z.string(),
        count: z.number().int(),
        first_asked_at: isoDate,
        example_conversation_id: nullableString,
      }),
    }),
  },
  'template.status_updated': {
    description: 'Meta approved, rejected, paused or disabled a message template.',
    data: z.looseObject({
      template_id: nullableString,
      meta_template_id: z.string(),
      waba_id: z.string(),
      name: nullableString,
      language: nullableString,
      event: z.string(),
      status: nullableString,
      reason: nullableString,
      category: nullableString,
    }),
  },
  'webhook.endpoint_disabled': {
    description: 'A webhook endpoint was disabled: it answered 410 Gone, or failed continuously for too long.',
    data: z.looseObject({ endpoint: webhookEndpointPayload, reason: z.enum(['gone', 'failing']), failing_since: isoDate.nullable() }),
  },
  'webhook.test': {
    description: 'A ping sent by POST /v1/webhooks/:id/test, only to that endpoint.',
    data: z.looseObject({ endpoint_id: z.string(), message: z.string() }),
  },
} as const satisfies Record<string, { description: string; data: z.ZodType }>;

export type EventType = keyof typeof eventCatalog;
export const EVENT_TYPES = Object.keys(eventCatalog) as EventType[];

/** Types an endpoint may subscribe to: everything but the ping, which goes to one endpoint only. */
export const SUBSCRIBABLE_EVENT_TYPES = EVENT_TYPES.filter((t) => t !== 'webhook.test');

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(eventCatalog, type);
}

/** Validates an event's data against its schema; throws for unknown types and bad data. */
export function parseEventData(type: string, data: unknown): Record<string, unknown> {
  if (!isEventType(type)) throw new Error(`unknown event type "${type}"`);
  return eventCatalog[type].data.parse(data) as Record<string, unknown>;
}
