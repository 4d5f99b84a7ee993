// Pure formatting: no DOM, no state. Everything here returns plain strings.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** "3h 12m", "12m", "less than a minute". */
export function durationText(ms) {
  if (ms < MINUTE) return 'less than a minute';
  const hours = Math.floor(ms / HOUR);
  const minutes = Math.floor((ms % HOUR) / MINUTE);
  if (hours === 0) return `${minutes}m`;
  return `${hours}h ${minutes}m`;
}

/**
 * The 24-hour customer-service window as the agent needs it: can I write free text, and for how long.
 * The server's `open` is authoritative; the countdown runs on from `expires_at` between updates.
 */
export function windowState(window, now = Date.now()) {
  const expires = window?.expires_at ? Date.parse(window.expires_at) : NaN;
  const open = Boolean(window?.open) && Number.isFinite(expires) && expires > now;
  if (!open) {
    return {
      open: false,
      text: 'window closed — only templates',
      short: 'window closed',
    };
  }
  const left = durationText(expires - now);
  return { open: true, text: `window closes in ${left}`, short: `${left} left`, soon: expires - now < HOUR };
}

export const MODE_LABELS = {
  bot: 'Bot',
  pending_human: 'Waiting for a person',
  human: 'Human',
};

export function modeLabel(mode) {
  return MODE_LABELS[mode] ?? String(mode ?? 'unknown');
}

const HANDOFF_REASONS = {
  customer_asked: 'The customer asked for a person',
  low_confidence: 'The bot was not confident in its answer',
  repeated_failure: 'The bot failed repeatedly',
  keyword: 'The customer used a handoff keyword',
  nothing_found: 'Nothing in the knowledge base answered it',
  takeover: 'An agent took it over',
  api: 'Requested through the API',
};

export function handoffText(handoff) {
  if (!handoff?.reason) return '';
  // Reasons are codes or, from the agent, short sentences ("low confidence (0.31 < 0.5)").
  const raw = String(handoff.reason);
  const reason = HANDOFF_REASONS[raw] ?? (/^[a-z_]+$/.test(raw) ? raw.replace(/_/g, ' ') : raw);
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

/** Outbound delivery status as a symbol and a word (the word is what screen readers get). */
const STATUS = {
  queued: { symbol: '🕓', label: 'queued' },
  sending: { symbol: '🕓', label: 'sending' },
  sent: { symbol: '✓', label: 'sent' },
  delivered: { symbol: '✓✓', label: 'delivered' },
  read: { symbol: '✓✓', label: 'read' },
  failed: { symbol: '⚠', label: 'failed' },
  cancelled: { symbol: '⊘', label: 'cancelled' },
};

export function statusInfo(status) {
  return STATUS[status] ?? { symbol: '', label: String(status ?? '') };
}

/** Who wrote a message, in words. */
export function authorLabel(message, contactName) {
  switch (message.author) {
    case 'customer':
      return contactName || 'Customer';
    case 'bot':
      return 'Bot';
    case 'agent':
      return message.agent?.name ? `Agent · ${message.agent.name}` : 'Agent';
    case 'api':
      return 'API';
    case 'system':
      return 'System';
    default:
      return String(message.author ?? (message.direction === 'in' ? 'Customer' : 'Unknown'));
  }
}

/** Something readable for any message type; the type is named when there is no text. */
export function messageText(message) {
  const c = message.content ?? {};
  const parts = [];
  if (c.media) parts.push(`[${c.media.voice ? 'voice note' : c.media.kind ?? message.type}${c.media.filename ? `: ${c.media.filename}` : ''}]`);
  if (c.location && !c.text) parts.push(`[location ${c.location.latitude}, ${c.location.longitude}]`);
  if (c.reaction) parts.push(c.reaction.emoji ? `[reacted ${c.reaction.emoji}]` : '[removed a reaction]');
  if (c.template && !c.text) parts.push(`[template ${c.template.name ?? ''}]`.replace(' ]', ']'));
  if (typeof c.text === 'string' && c.text) parts.push(c.text);
  else if (typeof c.body === 'string' && c.body) parts.push(c.body);
  if (parts.length === 0) parts.push(`[${message.type ?? 'message'}]`);
  return parts.join(' ');
}

export function contactName(conversation) {
  const contact = conversation?.contact ?? {};
  return contact.name || (contact.wa_id ? `+${contact.wa_id}` : 'Unknown contact');
}

/** "14:03" today, "Mon 14:03" this week, else a short date. */
export function timeText(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const d = new Date(t);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return time;
  if (now - t < 6 * 24 * HOUR) return `${d.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

export function fullTimeText(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : '';
}

/** An error from the API envelope (or the network) as one sentence plus the ids support needs. */
export function errorText(error) {
  if (!error) return '';
  const detail = [error.code, error.requestId ? `request ${error.requestId}` : ''].filter(Boolean).join(' · ');
  return detail ? `${error.message} (${detail})` : error.message;
}
