import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { messageSchema } from '../../../domain/messages/message-view';
import { windowSchema } from '../../../domain/messages/outbound.service';
import { outboundMessageSchema } from '../../../domain/messages/outbound.schema';
import { contactWindowQuery, listMessagesQuery } from '../../routes/messages.route';
import { listSchema } from '../../serialize';
import { apiHeaders, apiOperation, idParam } from '../common';

const tags = ['Messages'];
export const messageListSchema = listSchema(messageSchema, 'MessageList');

/** The message body as routes parse it, registered once so the reply operation can point at its parts. */
const outbound = outboundMessageSchema.meta({
  id: 'OutboundMessage',
  description:
    "A message in Meta's own shapes, one `type` per variant. WhatsApp's limits are checked up front (a 400 names the field). Outside the 24-hour window only `template` is accepted (422 `window_closed`).",
});

export const messagesPaths: ZodOpenApiPathsObject = {
  '/v1/messages': {
    post: apiOperation({
      operationId: 'sendMessage',
      summary: 'Send a message',
      description:
        '202: stored as `queued` and handed to the number\'s send queue; `message.sent` / `message.failed` follow. `from` may be left out when the workspace has one number. Messages of `gw_test_` keys and sandbox numbers never reach Meta (`test: true`).',
      tags,
      scopes: ['messages:send'],
      body: outbound,
      idempotent: true,
      answers: { 202: { description: 'Accepted and queued.', schema: messageSchema } },
      errors: [404, 422],
    }),
    get: apiOperation({
      operationId: 'listMessages',
      summary: 'List messages',
      description: 'Newest first; filter by conversation, status and direction.',
      tags,
      scopes: ['messages:read'],
      query: listMessagesQuery,
      answers: { 200: { description: 'A page of messages.', schema: messageListSchema } },
    }),
  },
  '/v1/messages/{id}': {
    get: apiOperation({
      operationId: 'getMessage',
      summary: 'Get a message',
      tags,
      scopes: ['messages:read'],
      path: z.object({ id: idParam('message', 'message') }),
      answers: { 200: { description: 'The message, with its current status.', schema: messageSchema } },
    }),
  },
  '/v1/conversations/{id}/window': {
    get: apiOperation({
      operationId: 'getConversationWindow',
      summary: "A conversation's 24-hour window",
      tags: ['Conversations'],
      scopes: ['conversations:read'],
      path: z.object({ id: idParam('conversation', 'conversation') }),
      answers: { 200: { description: 'Whether free-form messages can be sent, and until when.', schema: windowSchema } },
    }),
  },
  '/v1/contacts/{wa_id}/window': {
    get: apiOperation({
      operationId: 'getContactWindow',
      summary: "A contact's 24-hour window",
      description: 'By WhatsApp number, before any conversation exists (then `open` is false). 404 when `from` names no number of the workspace.',
      tags,
      scopes: ['messages:read'],
      path: z.object({ wa_id: z.string().meta({ description: "The customer's WhatsApp number (E.164, + optional).", example: '16505551234' }) }),
      query: contactWindowQuery,
      answers: { 200: { description: 'Whether free-form messages can be sent, and until when.', schema: windowSchema } },
    }),
  },
  '/v1/media/{id}': {
    get: apiOperation({
      operationId: 'getMedia',
      summary: 'Download inbound media',
      description:
        "The file a customer sent (image, audio, video, document, sticker), fetched from WhatsApp and stored by the gateway, with its MIME type in `Content-Type` and its SHA-256 in `ETag`. 409 `media_pending` while it is still being fetched; 404 `media_unavailable` when it could not be.",
      tags,
      scopes: ['messages:read'],
      path: z.object({ id: idParam('media', 'media') }),
      answers: {
        200: {
          description: 'The file, as an attachment.',
          content: { '*/*': {} },
          headers: apiHeaders.extend({
            ETag: z.string().optional().meta({ description: 'The SHA-256 of the file, quoted.' }),
            'Content-Disposition': z.literal('attachment'),
          }),
        },
      },
      errors: [409],
    }),
  },
};
