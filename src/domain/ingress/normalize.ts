import {
  MEDIA_TYPES,
  metaErrorSchema,
  typeBodies,
  type InboundMessage,
  type KnownType,
  type MediaType,
  type MetaError,
} from './webhook.schema';

/**
 * One shape for every inbound message type, stored as `messages.content` (the raw element is
 * stored beside it, untouched). `text` is what a person (or the agent) would read: the body, a
 * caption, a file name, a button title, an address.
 */
export interface NormalizedContent {
  text?: string;
  media?: {
    kind: MediaType;
    id: string;
    mime_type?: string;
    sha256?: string;
    caption?: string;
    filename?: string;
    voice?: boolean;
    animated?: boolean;
    /** Our id of the stored copy: GET /v1/media/:media_id. */
    media_id?: string;
  };
  location?: { latitude: number; longitude: number; name?: string; address?: string; url?: string };
  contacts?: unknown[];
  interactive?: { type: string; id?: string; title?: string; description?: string; name?: string; body?: string; response_json?: string };
  button?: { text?: string; payload?: string };
  /** emoji is null when the customer removed their reaction. */
  reaction?: { message_id: string; emoji: string | null };
  order?: { catalog_id?: string; text?: string; product_items: unknown[] };
  system?: { type?: string; body?: string; new_wa_id?: string };
  unsupported?: { type?: string };
  errors?: MetaError[];
  context?: { message_id?: string; from?: string; forwarded?: boolean; frequently_forwarded?: boolean; referred_product?: unknown };
  referral?: Record<string, unknown>;
  /** Set when the body of a known type did not have the shape we expect; the raw element has it all. */
  unparsed?: true;
}

export interface NormalizedMessage {
  wamid: string;
  from: string | undefined;
  fromUserId: string | undefined;
  timestamp: Date;
  type: string;
  content: NormalizedContent;
  /** The element exactly as Meta sent it. */
  raw: unknown;
  /** Whether this message opens / extends the 24-hour window (customer-initiated content). */
  refreshesWindow: boolean;
  /** Whether the agent should look at it (reactions and system notices need no answer). */
  needsAnswer: boolean;
}

// Reactions, system notices and unsupported content are not relied on to open the window
// (Meta does not document it; see the reference, section 9).
const NO_WINDOW = new Set(['reaction', 'system', 'unsupported', 'request_welcome']);
const NO_ANSWER = new Set(['reaction', 'system', 'unsupported']);

function isKnown(type: string): type is KnownType {
  return Object.hasOwn(typeBodies, type);
}

function parseErrors(errors: unknown[] | undefined): MetaError[] | undefined {
  if (!errors || errors.length === 0) return undefined;
  return errors.flatMap((e) => {
    const r = metaErrorSchema.safeParse(e);
    return r.success ? [r.data] : [];
  });
}

function bodyContent(type: KnownType, body: unknown): NormalizedContent | undefined {
  const parsed = typeBodies[type].safeParse(body);
  if (!parsed.success) return undefined;
  const b = parsed.data as Record<string, unknown>;
  switch (type) {
    case 'text':
      return { text: String(b.body) };
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const m = parsed.data as { id: string; mime_type?: string; sha256?: string; caption?: string; filename?: string; voice?: boolean; animated?: boolean };
      const text = m.caption ?? (type === 'document' ? m.filename : undefined);
      return {
        ...(text ? { text } : {}),
        media: {
          kind: type,
          id: m.id,
          mime_type: m.mime_type,
          sha256: m.sha256,
          caption: m.caption,
          filename: m.filename,
          voice: m.voice,
          animated: m.animated,
        },
      };
    }
    case 'location': {
      const l = parsed.data as NonNullable<NormalizedContent['location']>;
      const text = [l.name, l.address].filter(Boolean).join(', ') || `${l.latitude},${l.longitude}`;
      return { text, location: { latitude: l.latitude, longitude: l.longitude, name: l.name, address: l.address, url: l.url } };
    }
    case 'contacts': {
      const list = parsed.data as { name?: { formatted_name?: unknown } }[];
      const names = list.map((c) => c.name?.formatted_name).filter((n): n is string => typeof n === 'string' && n.length > 0);
      return { ...(names.length ? { text: names.join(', ') } : {}), contacts: list };
    }
    case 'interactive': {
      const i = parsed.data as z_interactive;
      const reply = i.button_reply ?? i.list_reply;
      const interactive = {
        type: i.type,
        ...(reply ? { id: reply.id, title: reply.title } : {}),
        ...(i.list_reply?.description ? { description: i.list_reply.description } : {}),
        ...(i.nfm_reply ? { name: i.nfm_reply.name, body: i.nfm_reply.body, response_json: i.nfm_reply.response_json } : {}),
      };
      const text = reply?.title ?? i.nfm_reply?.body;
      return { ...(text ? { text } : {}), interactive };
    }
    case 'button': {
      const btn = parsed.data as { text?: string; payload?: string };
      return { ...(btn.text ? { text: btn.text } : {}), button: { text: btn.text, payload: btn.payload } };
    }
    case 'reaction': {
      const r = parsed.data as { message_id: string; emoji?: string };
      return { reaction: { message_id: r.message_id, emoji: r.emoji ?? null } };
    }
    case 'order': {
      const o = parsed.data as { catalog_id?: string; text?: string; product_items?: unknown[] };
      return { ...(o.text ? { text: o.text } : {}), order: { catalog_id: o.catalog_id, text: o.text, product_items: o.product_items ?? [] } };
    }
    case 'system': {
      const s = parsed.data as { body?: string; wa_id?: string; type?: string };
      return { ...(s.body ? { text: s.body } : {}), system: { type: s.type, body: s.body, new_wa_id: s.wa_id } };
    }
    case 'unsupported': {
      const u = parsed.data as { type?: string };
      return { unsupported: { type: u.type } };
    }
  }
}

interface z_interactive {
  type: string;
  button_reply?: { id: string; title: string };
  list_reply?: { id: string; title: string; description?: string };
  nfm_reply?: { name?: string; body?: string; response_json?: string };
}

export function normalizeMessage(m: InboundMessage, original: unknown = m): NormalizedMessage {
  const raw = m as InboundMessage & Record<string, unknown>;
  let content: NormalizedContent = {};
  if (isKnown(m.type)) {
    // unsupported messages may carry no `unsupported` body at all, only errors.
    const body = raw[m.type] ?? (m.type === 'unsupported' ? {} : undefined);
    content = bodyContent(m.type, body) ?? { unparsed: true };
  }
  const errors = parseErrors(m.errors);
  if (errors) content.errors = errors;
  if (m.context) {
    content.context = {
      message_id: m.context.id,
      from: m.context.from,
      forwarded: m.context.forwarded,
      frequently_forwarded: m.context.frequently_forwarded,
      referred_product: m.context.referred_product,
    };
  }
  if (m.referral) content.referral = m.referral;
  return {
    wamid: m.id,
    from: m.from,
    fromUserId: m.from_user_id,
    timestamp: m.timestamp,
    type: m.type,
    content,
    raw: original,
    refreshesWindow: !NO_WINDOW.has(m.type),
    needsAnswer: !NO_ANSWER.has(m.type),
  };
}

export function isMediaType(type: string): type is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(type);
}
