// Elements for one conversation row and one transcript entry, built from API objects. All text
// goes through h() as text nodes.
import { h } from './dom.js';
import { authorLabel, contactName, fullTimeText, handoffText, messageText, modeLabel, statusInfo, timeText, windowState } from './format.js';

export function modeBadge(mode, assignee) {
  const label = mode === 'human' && assignee?.name ? `${modeLabel(mode)} · ${assignee.name}` : modeLabel(mode);
  return h('span', { class: `badge badge-${mode}` }, label);
}

/** One row of the conversation list: a button that opens the conversation. */
export function conversationItem(c, { selected, now }) {
  const name = contactName(c);
  const unread = Number(c.unread_count ?? 0);
  const win = windowState(c.window, now);
  const last = c.last_message;
  const preview = last ? `${last.direction === 'out' ? 'You: ' : ''}${messageText(last)}` : 'No messages yet';
  const when = c.last_activity_at ?? c.updated_at;
  const label = [
    name,
    modeLabel(c.mode),
    c.status === 'closed' ? 'closed' : '',
    unread ? `${unread} unread` : '',
    win.short,
  ].filter(Boolean).join(', ');
  return h(
    'li',
    { class: 'conversation-item', dataset: { id: c.id } },
    h(
      'button',
      {
        type: 'button',
        class: 'conversation-button',
        'aria-current': selected ? 'true' : null,
        'aria-label': label,
        dataset: { id: c.id },
      },
      h(
        'span',
        { class: 'row row-top' },
        h('span', { class: 'conversation-name' }, name),
        h('time', { class: 'conversation-time', datetime: when, title: fullTimeText(when) }, timeText(when, now)),
      ),
      h('span', { class: 'conversation-preview' }, preview),
      h(
        'span',
        { class: 'row row-badges' },
        modeBadge(c.mode, c.assignee),
        c.status === 'closed' ? h('span', { class: 'badge badge-closed' }, 'Closed') : null,
        h('span', { class: `window-chip${win.open ? (win.soon ? ' window-soon' : '') : ' window-closed'}` }, win.short),
        unread ? h('span', { class: 'unread', title: `${unread} unread` }, String(unread)) : null,
      ),
    ),
  );
}

/** A message in the transcript: customer on the left, everything we sent on the right. */
export function messageItem(m, { contact }) {
  const outbound = m.direction === 'out';
  const status = outbound ? statusInfo(m.status) : null;
  const failed = m.status === 'failed';
  const errorLine = failed && m.error ? [m.error.title, m.error.details, m.error.code ? `code ${m.error.code}` : ''].filter(Boolean).join(' — ') : '';
  return h(
    'li',
    {
      class: `entry message message-${outbound ? 'out' : 'in'} author-${m.author}${failed ? ' message-failed' : ''}`,
      dataset: { id: m.id, status: m.status },
    },
    h(
      'p',
      { class: 'entry-meta' },
      h('span', { class: 'entry-author' }, authorLabel(m, contact)),
      ' ',
      h('time', { datetime: m.timestamp, title: fullTimeText(m.timestamp) }, timeText(m.timestamp)),
    ),
    h('p', { class: 'entry-body' }, messageText(m)),
    status
      ? h(
          'p',
          { class: `status status-${m.status}`, title: status.label },
          h('span', { class: 'status-symbol', 'aria-hidden': 'true' }, status.symbol),
          ' ',
          h('span', { class: 'status-label' }, status.label),
        )
      : null,
    errorLine ? h('p', { class: 'entry-error' }, errorLine) : null,
  );
}

/** An internal note: visibly not a message, and says so in words. */
export function noteItem(n) {
  return h(
    'li',
    { class: 'entry note', dataset: { id: n.id } },
    h(
      'p',
      { class: 'entry-meta' },
      h('span', { class: 'note-tag' }, 'Internal note · never sent'),
      ' ',
      h('span', { class: 'entry-author' }, n.agent?.name ?? 'Agent'),
      ' ',
      h('time', { datetime: n.created_at, title: fullTimeText(n.created_at) }, timeText(n.created_at)),
    ),
    h('p', { class: 'entry-body' }, n.body),
  );
}

export function handoffLine(c) {
  if (c.mode !== 'pending_human') return '';
  const reason = handoffText(c.handoff);
  return reason ? `Waiting for a person: ${reason}` : 'Waiting for a person';
}
