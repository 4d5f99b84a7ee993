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

export function messageView(m: MessageRow) {
  return {
    object: 'message' as const,
    id: m.id,
    conversation_id: m.conversation_id,
    phone_number_id: m.phone_number_id,
    direction: m.direction,
    wamid: m.wamid,
    type: m.type,
    content: m.content,
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
