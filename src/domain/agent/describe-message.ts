import type { InboundForAgent } from './agent-repo.port';

/**
 * What the agent reads of a customer's message: the text, or a short description of what was
 * sent (captions, file names, places, tapped buttons). Voice notes are described by the caller,
 * which may have a transcript.
 */
export const NO_ANSWER_TYPES = new Set(['reaction', 'system', 'unsupported', 'request_welcome']);

export function needsAnswer(m: InboundForAgent): boolean {
  return !NO_ANSWER_TYPES.has(m.type);
}

export function isVoiceNote(m: InboundForAgent): boolean {
  return m.type === 'audio';
}

export function describeMessage(m: InboundForAgent): string {
  const c = m.content;
  const text = c.text?.trim();
  switch (m.type) {
    case 'text':
      return text ?? '';
    case 'image':
    case 'video':
    case 'sticker':
      return c.media?.caption ? `[${m.type}] ${c.media.caption}` : `[the customer sent a ${m.type}]`;
    case 'document': {
      const name = c.media?.filename ? `: ${c.media.filename}` : '';
      return `[document${name}]${c.media?.caption ? ` ${c.media.caption}` : ''}`;
    }
    case 'location': {
      const l = c.location;
      if (!l) return '[the customer shared a location]';
      const label = [l.name, l.address].filter(Boolean).join(', ');
      return `[location] ${label ? `${label} ` : ''}(${l.latitude}, ${l.longitude})`;
    }
    case 'interactive':
      return `[tapped] ${c.interactive?.title ?? c.interactive?.body ?? text ?? ''}`.trim();
    case 'button':
      return `[tapped] ${c.button?.text ?? text ?? ''}`.trim();
    case 'contacts':
      return `[shared contact] ${text ?? ''}`.trim();
    case 'order':
      return `[order of ${c.order?.product_items.length ?? 0} item(s)]${c.order?.text ? ` ${c.order.text}` : ''}`;
    default:
      return text ?? `[a ${m.type} message]`;
  }
}
