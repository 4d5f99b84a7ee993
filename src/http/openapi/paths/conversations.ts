import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { conversationSchema, noteSchema, takeoverSchema } from '../../../domain/conversations/conversation-view';
import { messageSchema } from '../../../domain/messages/message-view';
import { outboundMessageSchema } from '../../../domain/messages/outbound.schema';
import { listQuerySchema } from '../../../domain/shared/pagination';
import { agentOnlyBody, agentSchema, listConversationsQuery, noteBody, takeoverBody } from '../../routes/conversations.route';
import { listSchema } from '../../serialize';
import { apiOperation, eventStream, idParam } from '../common';
import { messageListSchema } from './messages';

const tags = ['Conversations'];
const conversationId = z.object({ id: idParam('conversation', 'conversation') });
const conversationListSchema = listSchema(conversationSchema, 'ConversationList');
const noteListSchema = listSchema(noteSchema, 'NoteList');

/**
 * The reply's body: a message as for POST /v1/messages without `to` and `from` (the route reads
 * `agent`, then the service parses the rest with the same outbound message schema), so the
 * variants are derived from that schema rather than written twice.
 */
const replyBody = z
  .discriminatedUnion(
    'type',
    (outboundMessageSchema.options as readonly z.ZodObject[]).map((variant) =>
      variant.omit({ to: true, from: true }).extend({ agent: agentSchema.optional() }),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  )
  .meta({ id: 'AgentReply', description: 'A message of any type of POST /v1/messages, without `to` and `from`, plus the `agent` who writes it.' });

const lastEventId = {
  header: z.object({
    'Last-Event-ID': z.string().optional().meta({ description: 'Resume after this event: the missed events come first, in order, then the live ones.' }),
  }),
  query: z.object({ last_event_id: z.string().optional().meta({ description: 'The same, for clients that cannot set headers.' }) }),
};

const streamExample = [
  'retry: 2000',
  '',
  'id: evt_01jd8v2k3m4n5p6q7r8s9t0v1w',
  'event: message.received',
  'data: {"id":"evt_01jd8v2k3m4n5p6q7r8s9t0v1w","type":"message.received","created_at":"2026-11-24T10:00:00.000Z","workspace_id":"ws_01jd8v2k3m4n5p6q7r8s9t0v1w","conversation_id":"conv_01jd8v2k3m4n5p6q7r8s9t0v1w","data":{"message":{},"contact":{}}}',
  '',
  ': ping',
  '',
].join('\n');
const streamDescription =
  'Server-Sent Events: `id` is the event id, `event` its type, `data` the event as JSON (the `Event` schema; `data.data` is the payload documented under webhooks). A `: ping` comment every heartbeat.';

const stream = (operationId: string, summary: string, description: string, path?: z.ZodObject) => {
  const op = apiOperation({
    operationId,
    summary,
    description: `${description} Browsers' EventSource cannot send Authorization: read it with fetch. 400 \`unknown_last_event_id\` when Last-Event-ID names no event of the workspace.`,
    tags: ['Events'],
    scopes: ['conversations:read'],
    ...(path ? { path } : {}),
    query: lastEventId.query,
    answers: { 200: { description: 'The stream (it stays open).', content: eventStream(streamDescription, streamExample) } },
  });
  return { ...op, requestParams: { ...op.requestParams, header: lastEventId.header } };
};

export const conversationsPaths: ZodOpenApiPathsObject = {
  '/v1/conversations': {
    get: apiOperation({
      operationId: 'listConversations',
      summary: 'List conversations',
      description: 'Most recent activity first.',
      tags,
      scopes: ['conversations:read'],
      query: listConversationsQuery,
      answers: { 200: { description: 'A page of conversations.', schema: conversationListSchema } },
    }),
  },
  '/v1/conversations/{id}': {
    get: apiOperation({
      operationId: 'getConversation',
      summary: 'Get a conversation',
      tags,
      scopes: ['conversations:read'],
      path: conversationId,
      answers: { 200: { description: 'The conversation.', schema: conversationSchema } },
    }),
  },
  '/v1/conversations/{id}/messages': {
    get: apiOperation({
      operationId: 'listConversationMessages',
      summary: 'The transcript',
      description: 'Newest first; page back with `starting_after`.',
      tags,
      scopes: ['conversations:read'],
      path: conversationId,
      query: listQuerySchema,
      answers: { 200: { description: 'A page of messages.', schema: messageListSchema } },
    }),
  },
  '/v1/conversations/{id}/takeover': {
    post: apiOperation({
      operationId: 'takeOverConversation',
      summary: 'Take a conversation over',
      description:
        "Human mode with this agent as assignee; the bot's queued messages are cancelled in the same transaction. Another agent's conversation: 409 `conversation_taken` unless `force: true`.",
      tags,
      scopes: ['conversations:write'],
      path: conversationId,
      body: takeoverBody,
      answers: { 200: { description: 'The conversation, in human mode.', schema: takeoverSchema } },
      errors: [409],
    }),
  },
  '/v1/conversations/{id}/reply': {
    post: apiOperation({
      operationId: 'replyToConversation',
      summary: 'Reply as a human agent',
      description:
        'Only in human mode (else 409 `not_taken_over`); the window and template rules of POST /v1/messages apply (422). The message goes through the same send queue, with author `agent`.',
      tags,
      scopes: ['conversations:write', 'messages:send'],
      path: conversationId,
      body: replyBody,
      idempotent: true,
      answers: { 202: { description: 'Accepted and queued.', schema: messageSchema } },
    }),
  },
  '/v1/conversations/{id}/handback': {
    post: apiOperation({
      operationId: 'handBackConversation',
      summary: 'Hand a conversation back to the bot',
      tags,
      scopes: ['conversations:write'],
      path: conversationId,
      body: agentOnlyBody,
      bodyOptional: true,
      answers: { 200: { description: 'The conversation, in bot mode.', schema: conversationSchema } },
    }),
  },
  '/v1/conversations/{id}/close': {
    post: apiOperation({
      operationId: 'closeConversation',
      summary: 'Close a conversation',
      description: 'Also ends a takeover. A customer who writes again reopens it.',
      tags,
      scopes: ['conversations:write'],
      path: conversationId,
      body: agentOnlyBody,
      bodyOptional: true,
      answers: { 200: { description: 'The closed conversation.', schema: conversationSchema } },
    }),
  },
  '/v1/conversations/{id}/reopen': {
    post: apiOperation({
      operationId: 'reopenConversation',
      summary: 'Reopen a conversation',
      tags,
      scopes: ['conversations:write'],
      path: conversationId,
      body: agentOnlyBody,
      bodyOptional: true,
      answers: { 200: { description: 'The open conversation.', schema: conversationSchema } },
    }),
  },
  '/v1/conversations/{id}/notes': {
    get: apiOperation({
      operationId: 'listNotes',
      summary: "A conversation's internal notes",
      tags,
      scopes: ['conversations:read'],
      path: conversationId,
      query: listQuerySchema,
      answers: { 200: { description: 'A page of notes, newest first.', schema: noteListSchema } },
    }),
    post: apiOperation({
      operationId: 'addNote',
      summary: 'Add an internal note',
      description: 'Never sent to the customer; `conversation.note_added` is emitted.',
      tags,
      scopes: ['conversations:write'],
      path: conversationId,
      body: noteBody,
      idempotent: true,
      answers: { 201: { description: 'The note.', schema: noteSchema } },
    }),
  },
  '/v1/events/stream': {
    get: stream('streamEvents', "The workspace's live events", 'Every event of the workspace, live.'),
  },
  '/v1/conversations/{id}/stream': {
    get: stream('streamConversationEvents', "One conversation's live events", 'The events of one conversation.', conversationId),
  },
};
