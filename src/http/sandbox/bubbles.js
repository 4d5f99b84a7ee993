// Chat bubbles as a phone shows them. Everything from the business or the customer is data and goes
// in as text nodes (h() never parses markup). Media is fetched with the API key and shown from a
// blob URL; media sent by link is named, not loaded (the page loads nothing from other origins).
import { h } from '/console/dom.js';

const TICKS = {
  sending: { text: '◷', label: 'Sending' },
  sent: { text: '✓', label: 'Sent' },
  delivered: { text: '✓✓', label: 'Delivered' },
  read: { text: '✓✓', label: 'Read' },
  failed: { text: '!', label: 'Not delivered' },
};

export function ticks(status) {
  const t = TICKS[status] ?? TICKS.sending;
  return h('span', { class: 'ticks', dataset: { status }, role: 'img', 'aria-label': t.label, title: t.label }, t.text);
}

const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** One line for the customers list and quotes. */
export function summary(entry) {
  const m = obj(entry?.message);
  switch (entry?.type) {
    case 'text':
      return obj(m.text).body ?? '';
    case 'image':
      return `📷 ${obj(m.image).caption ?? 'Photo'}`;
    case 'video':
      return `🎥 ${obj(m.video).caption ?? 'Video'}`;
    case 'audio':
      return '🎤 Audio';
    case 'document':
      return `📄 ${obj(m.document).filename ?? obj(m.document).caption ?? 'Document'}`;
    case 'sticker':
      return 'Sticker';
    case 'location':
      return `📍 ${obj(m.location).name ?? 'Location'}`;
    case 'contacts':
      return `👤 ${(m.contacts ?? []).map((c) => obj(c.name).formatted_name).filter(Boolean).join(', ') || 'Contact'}`;
    case 'reaction':
      return `Reacted ${obj(m.reaction).emoji ?? ''}`;
    case 'template':
      return `📋 ${obj(m.template).name ?? 'Template'}`;
    case 'interactive': {
      const i = obj(m.interactive);
      if (i.type === 'button_reply' || i.type === 'list_reply') return `↩ ${obj(i[i.type]).title ?? ''}`;
      return obj(i.body).text ?? 'Message';
    }
    default:
      return entry?.type ?? '';
  }
}

function media(kind, value, { mediaUrl }) {
  const v = obj(value);
  const parts = [];
  if (v.id && (kind === 'image' || kind === 'sticker')) {
    const img = h('img', { alt: v.caption ? `Photo: ${v.caption}` : 'Photo', loading: 'lazy' });
    mediaUrl(v.id).then((url) => url && (img.src = url));
    parts.push(img);
  } else if (v.link) {
    parts.push(h('p', null, `${kind === 'image' ? '🖼' : '📎'} ${kind} from `, h('span', { class: 'link' }, v.link)));
  } else {
    parts.push(h('p', null, `📎 ${v.filename ?? kind}`));
  }
  if (v.caption) parts.push(h('p', { class: 'caption' }, v.caption));
  return parts;
}

function interactive(entry, i, { onReply }) {
  const parts = [];
  const header = obj(i.header);
  if (header.type === 'text' && header.text) parts.push(h('p', { class: 'header' }, header.text));
  if (obj(i.body).text) parts.push(h('p', null, obj(i.body).text));
  if (obj(i.footer).text) parts.push(h('p', { class: 'footer' }, obj(i.footer).text));
  const action = obj(i.action);
  if (i.type === 'button') {
    const buttons = (action.buttons ?? []).map((b) => obj(obj(b).reply));
    parts.push(
      h('div', { class: 'replies', role: 'group', 'aria-label': 'Reply buttons' },
        buttons.map((r) => h('button', { type: 'button', class: 'reply-button', dataset: { id: r.id }, on: { click: () => onReply(entry, 'button_reply', r.id) } }, r.title))),
    );
  } else if (i.type === 'list') {
    const sections = (action.sections ?? []).map(obj);
    parts.push(
      h('details', { class: 'list-menu replies' },
        h('summary', null, `☰ ${action.button ?? 'Menu'}`),
        sections.map((s) => [
          s.title ? h('h3', null, s.title) : null,
          (s.rows ?? []).map(obj).map((r) =>
            h('button', { type: 'button', class: 'list-row', dataset: { id: r.id }, on: { click: () => onReply(entry, 'list_reply', r.id) } },
              h('span', null, r.title), r.description ? h('small', null, r.description) : null)),
        ])),
    );
  } else if (i.type === 'cta_url') {
    const p = obj(action.parameters);
    parts.push(h('div', { class: 'replies' }, h('a', { class: 'cta', href: p.url, target: '_blank', rel: 'noopener noreferrer' }, `↗ ${p.display_text ?? 'Open'}`)));
  } else if (i.type === 'button_reply' || i.type === 'list_reply') {
    parts.push(h('p', null, obj(i[i.type]).title ?? ''));
  } else {
    parts.push(h('p', { class: 'caption' }, `(${i.type} message)`));
  }
  return parts;
}

function template(t) {
  const params = (t.components ?? []).flatMap((c) => obj(c).parameters ?? []).map((p) => obj(p).text ?? obj(obj(p).currency).fallback_value ?? obj(obj(p).date_time).fallback_value).filter(Boolean);
  return [h('p', { class: 'header' }, `📋 ${t.name ?? 'Template'} (${obj(t.language).code ?? ''})`), params.length ? h('p', null, params.join(' · ')) : null];
}

function content(entry, opts) {
  const m = obj(entry.message);
  switch (entry.type) {
    case 'text':
      return [h('p', null, obj(m.text).body ?? '')];
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      return media(entry.type, m[entry.type], opts);
    case 'location': {
      const l = obj(m.location);
      return [h('p', null, `📍 ${l.name ?? 'Location'}`), l.address ? h('p', { class: 'caption' }, l.address) : null, h('p', { class: 'caption' }, `${l.latitude}, ${l.longitude}`)];
    }
    case 'interactive':
      return interactive(entry, obj(m.interactive), opts);
    case 'template':
      return template(obj(m.template));
    default:
      return [h('p', null, summary(entry))];
  }
}

/** A bubble; `quoted` is the message a reply points to (if it is in the chat). */
export function bubble(entry, opts) {
  const context = obj(entry.message.context);
  const quoted = context.id ? opts.find(context.id) : undefined;
  return h('li', { class: 'bubble', dataset: { id: entry.id, from: entry.from, type: entry.type } },
    quoted ? h('p', { class: 'quote' }, summary(quoted)) : null,
    content(entry, opts),
    entry.status === 'failed' && entry.error ? h('p', { class: 'error-text' }, `Not delivered: ${entry.error.title} (${entry.error.code})`) : null,
    h('p', { class: 'bubble-meta' }, h('time', { datetime: entry.at }, time(entry.at)), ticks(entry.status)));
}

/** Puts (or moves) a reaction on the bubble of the message it reacts to. */
export function react(list, entry) {
  const r = obj(entry.message.reaction);
  const target = [...list.children].find((li) => li.dataset.id === r.message_id);
  if (!target) return false;
  target.querySelector('.reaction')?.remove();
  target.classList.toggle('has-reaction', Boolean(r.emoji));
  if (r.emoji) target.append(h('span', { class: 'reaction', 'aria-label': `Reaction ${r.emoji}` }, r.emoji));
  return true;
}

export function note(n) {
  return h('li', { class: 'system-note', dataset: { kind: n.kind } }, n.text);
}
