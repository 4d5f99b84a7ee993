import type { OutboundMessage } from '../../domain/messages/outbound.schema';

/**
 * The Graph API body of POST /{phone-number-id}/messages for a validated outbound message.
 * `recipient_type` is always sent (Meta's spec requires it), and template languages carry
 * `policy: deterministic` (the spec requires it; the live API accepts it).
 */
export function toGraphBody(msg: OutboundMessage): Record<string, unknown> {
  const base: Record<string, unknown> = {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: msg.to,
    type: msg.type,
  };
  if (msg.reply_to) base.context = { message_id: msg.reply_to };
  switch (msg.type) {
    case 'text':
      return { ...base, text: msg.text };
    case 'image':
      return { ...base, image: msg.image };
    case 'video':
      return { ...base, video: msg.video };
    case 'audio':
      return { ...base, audio: msg.audio };
    case 'document':
      return { ...base, document: msg.document };
    case 'sticker':
      return { ...base, sticker: msg.sticker };
    case 'location':
      // Meta's schema types coordinates as strings.
      return { ...base, location: { ...msg.location, latitude: String(msg.location.latitude), longitude: String(msg.location.longitude) } };
    case 'contacts':
      return { ...base, contacts: msg.contacts };
    case 'interactive':
      return { ...base, interactive: msg.interactive };
    case 'reaction':
      // Reactions are not replies: Meta refuses a context on them.
      delete base.context;
      return { ...base, reaction: msg.reaction };
    case 'template':
      return {
        ...base,
        template: {
          name: msg.template.name,
          language: { policy: 'deterministic', code: msg.template.language.code },
          ...(msg.template.components ? { components: msg.template.components } : {}),
        },
      };
  }
}
