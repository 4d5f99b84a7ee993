import { z } from 'zod';
import type { NormalizedContent } from '../ingress/normalize';

/** The public JSON of a message: API responses, events and webhooks all use this shape. */
export interface MessageRow {
  id: string;
  workspace_id: string;
  conversation_id: string;
  phone_number_id: string;
  direction: 'in' | 'out';
  wamid: string | null;
  type: string;
  content: NormalizedContent | Record<string, unknown>;
  author: string;
  author_id?: string | null;
  author_name?: string | null;
  status: string;
  error_code: number | null;
  error_title: string | null;
  error_details: string | null;
  meta_timestamp: Date | null;
  reply_to_wamid: string | null;
  pricing_category: string | null;
  pricing_type: string | null;
  test: boolean;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const nullableString = z.string().nullable();
const isoDate = z.iso.datetime().meta({ example: '2026-11-24T10:00:00.000Z' });

/** The documented shape of `messageView` (the OpenAPI document is built from it). */
export const messageSchema = z
  .object({
    object: z.literal('message'),
    id: z.string().meta({ example: 'msg_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    conversation_id: z.string(),
    phone_number_id: z.string().meta({ description: 'Our id of the number (num_...).' }),
    direction: z.enum(['in', 'out']),
    wamid: nullableString.meta({ description: "WhatsApp's message id, once Meta has it." }),
    type: z.string().meta({ description: 'text, image, audio, video, document, sticker, location, contacts, interactive, reaction, template, ...', example: 'text' }),
    content: z.record(z.string(), z.unknown()).meta({ description: 'The normalized content (e.g. `{text}` for a text message).' }),
    author: z.string().meta({ description: 'customer, bot, agent or api.', example: 'api' }),
    agent: z.object({ id: nullableString, name: nullableString }).nullable().meta({ description: 'The human agent who wrote it (author agent).' }),
    status: z.string().meta({ description: 'received (inbound); queued, sending, sent, delivered, read, failed or cancelled (outbound).', example: 'queued' }),
    error: z
      .object({ code: z.number().int().meta({ description: "Meta's error code, or the gateway's (e.g. unknown_outcome)." }), title: nullableString, details: nullableString })
      .nullable(),
    timestamp: isoDate.meta({ description: "Meta's timestamp of an inbound message, else when it was created." }),
    reply_to: nullableString.meta({ description: 'The wamid this message replies to.' }),
    pricing: z.object({ category: nullableString, type: nullableString }).nullable(),
    test: z.boolean().meta({ description: 'Sent with a gw_test_ key or on a sandbox number: it never reached Meta.' }),
    metadata: z.record(z.string(), z.unknown()),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'Message', description: 'A WhatsApp message, inbound or outbound.' });
export type MessageView = z.output<typeof messageSchema>;

export function messageView(m: MessageRow): MessageView {
  return {
    object: 'message' as const,
    id: m.id,
    conversation_id: m.conversation_id,
    phone_number_id: m.phone_number_id,
    direction: m.direction,
    wamid: m.wamid,
    type: m.type,
    content: { ...m.content },
    author: m.author,
    agent: m.author === 'agent' ? { id: m.author_id ?? null, name: m.author_name ?? null } : null,
    status: m.status,
    error: m.error_code === null ? null : { code: m.error_code, title: m.error_title, details: m.error_details },
    timestamp: (m.meta_timestamp ?? m.created_at).toISOString(),
    reply_to: m.reply_to_wamid,
    pricing: m.pricing_category || m.pricing_type ? { category: m.pricing_category, type: m.pricing_type } : null,
    test: m.test,
    metadata: m.metadata,
    created_at: m.created_at.toISOString(),
    updated_at: m.updated_at.toISOString(),
  };
}

export const MESSAGE_COLUMNS =
  'id, workspace_id, conversation_id, phone_number_id, direction, wamid, type, content, author, author_id, author_name, status, ' +
  'error_code, error_title, error_details, meta_timestamp, reply_to_wamid, pricing_category, pricing_type, test, ' +
  'metadata, created_at, updated_at';
