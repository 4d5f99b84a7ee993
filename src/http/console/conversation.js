// The open conversation: header (mode, window, handoff), transcript with notes, and what an agent
// does: take over, reply, add a note, hand back, close, reopen.
import { ApiError, randomId } from './api.js';
import { $, announce, h, setText, setView } from './dom.js';
import { contactName, errorText, windowState } from './format.js';
import { renderList, upsertConversation } from './list.js';
import { changes, state } from './store.js';
import { handoffLine, messageItem, modeBadge, noteItem } from './views.js';

export function route() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (!state.api) return;
  if (id && id !== state.openId) openConversation(id);
  else if (!id) closeDetail();
}

function closeDetail() {
  const previous = state.openId;
  state.openId = null;
  state.open = null;
  state.entries.clear();
  $('detail').hidden = true;
  $('detail-placeholder').hidden = false;
  setView('list');
  renderList();
  if (previous) $('conversation-list').querySelector(`button[data-id="${CSS.escape(previous)}"]`)?.focus();
}

async function openConversation(id) {
  const load = ++state.openLoad;
  state.openId = id;
  state.open = null;
  state.entries.clear();
  state.olderCursor = null;
  state.replyKey = null;
  $('reply-text').value = '';
  $('note-text').value = '';
  hideError();
  setView('detail');
  renderList();
  $('detail-placeholder').hidden = true;
  $('detail').hidden = false;
  setText($('detail-title'), 'Loading…');
  $('transcript').replaceChildren();
  const enc = encodeURIComponent(id);
  try {
    const [conversation, messages, notes] = await Promise.all([
      state.api.get(`/v1/conversations/${enc}`),
      state.api.get(`/v1/conversations/${enc}/messages`, { limit: 50 }),
      state.api.get(`/v1/conversations/${enc}/notes`, { limit: 100 }),
    ]);
    if (load !== state.openLoad) return;
    state.open = conversation;
    for (const m of messages.data) upsertEntry('message', m, { render: false });
    for (const n of notes.data) upsertEntry('note', n, { render: false });
    state.olderCursor = messages.has_more ? messages.next_cursor : null;
    renderDetail();
    renderTranscript({ toBottom: true });
    $('detail-title').focus();
  } catch (e) {
    if (load !== state.openLoad) return;
    setText($('detail-title'), 'Could not open the conversation');
    showError(e);
  }
}

async function loadOlder() {
  if (!state.olderCursor) return;
  try {
    const page = await state.api.get(`/v1/conversations/${encodeURIComponent(state.openId)}/messages`, { limit: 50, starting_after: state.olderCursor });
    for (const m of page.data) upsertEntry('message', m, { render: false });
    state.olderCursor = page.has_more ? page.next_cursor : null;
    renderTranscript({ keepPosition: true });
  } catch (e) {
    showError(e);
  }
}

export function upsertEntry(kind, data, { render = true } = {}) {
  const existing = state.entries.get(data.id);
  // Events and page loads can cross; the newer copy of a message wins (status only moves forward).
  if (existing && existing.data.updated_at && data.updated_at && Date.parse(data.updated_at) < Date.parse(existing.data.updated_at)) return;
  const at = kind === 'note' ? data.created_at : (data.timestamp ?? data.created_at);
  state.entries.set(data.id, { kind, at, data });
  if (render) renderTranscript();
}

function renderTranscript({ toBottom = false, keepPosition = false } = {}) {
  const list = $('transcript');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const fromBottom = list.scrollHeight - list.scrollTop;
  const contact = state.open ? contactName(state.open) : '';
  const entries = [...state.entries.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.data.id < b.data.id ? -1 : 1));
  list.replaceChildren(...entries.map((e) => (e.kind === 'note' ? noteItem(e.data) : messageItem(e.data, { contact }))));
  if (entries.length === 0) list.append(h('li', { class: 'entry empty' }, 'No messages yet.'));
  $('older').hidden = !state.olderCursor;
  if (keepPosition) list.scrollTop = list.scrollHeight - fromBottom;
  else if (toBottom || nearBottom) list.scrollTop = list.scrollHeight;
}

export function renderDetail() {
  const c = state.open;
  if (!c) return;
  const mine = c.assignee?.id === state.agent.id;
  const win = windowState(c.window);
  setText($('detail-title'), contactName(c));
  setText($('detail-sub'), [c.contact?.wa_id ? `+${c.contact.wa_id}` : '', c.number?.display_number ? `to ${c.number.display_number}` : ''].filter(Boolean).join(' '));
  $('detail-badges').replaceChildren(modeBadge(c.mode, c.assignee), c.status === 'closed' ? h('span', { class: 'badge badge-closed' }, 'Closed') : '');
  const windowEl = $('detail-window');
  setText(windowEl, win.text);
  windowEl.dataset.open = String(win.open);
  const handoff = handoffLine(c);
  setText($('detail-handoff'), handoff);
  $('detail-handoff').hidden = !handoff;

  $('takeover').hidden = mine && c.mode === 'human';
  setText($('takeover'), c.mode === 'human' && !mine ? `Take over from ${c.assignee?.name ?? 'another agent'}` : 'Take over');
  $('handback').hidden = c.mode !== 'human';
  $('close').hidden = c.status === 'closed';
  $('reopen').hidden = c.status !== 'closed';

  const canReply = c.mode === 'human' && mine && win.open;
  $('reply-text').disabled = !canReply;
  $('reply-send').disabled = !canReply;
  let hint = 'Ctrl+Enter sends.';
  if (!win.open) hint = 'The 24-hour window is closed: only approved templates can be sent until the customer writes again.';
  else if (c.mode !== 'human') hint = 'Take the conversation over to reply; the bot is paused while you have it.';
  else if (!mine) hint = `${c.assignee?.name ?? 'Another agent'} has this conversation. Take it over to reply.`;
  setText($('reply-hint'), hint);
}

// ---- actions ---------------------------------------------------------------------------------

function showError(e, { offerForce = false } = {}) {
  setText($('detail-error-text'), e instanceof Error ? errorText(e) : String(e));
  $('force-takeover').hidden = !offerForce;
  $('detail-error').hidden = false;
}

function hideError() {
  $('detail-error').hidden = true;
  $('force-takeover').hidden = true;
}

async function act(button, path, body, { success, idempotencyKey } = {}) {
  hideError();
  button.disabled = true;
  try {
    const result = await state.api.post(`/v1/conversations/${encodeURIComponent(state.openId)}/${path}`, body, { idempotencyKey });
    if (success) success(result);
    return result;
  } catch (e) {
    showError(e, { offerForce: e instanceof ApiError && e.code === 'conversation_taken' });
    return null;
  } finally {
    button.disabled = false;
    renderDetail();
  }
}

export function setupActions() {
  changes.addEventListener('conversation', (e) => {
    if (e.detail.id !== state.openId) return;
    state.open = e.detail;
    renderDetail();
  });
  const takeover = (force) => async () => {
    const result = await act(force ? $('force-takeover') : $('takeover'), 'takeover', { agent: state.agent, ...(force ? { force: true } : {}) }, {
      success: (c) => {
        upsertConversation(c);
        announce('You have the conversation. The bot is paused.');
      },
    });
    if (!result) return;
    if ($('reply-text').disabled) $('detail-title').focus();
    else $('reply-text').focus();
  };
  $('takeover').addEventListener('click', takeover(false));
  $('force-takeover').addEventListener('click', takeover(true));
  $('handback').addEventListener('click', () =>
    act($('handback'), 'handback', {}, {
      success: (c) => {
        upsertConversation(c);
        announce('Handed back to the bot.');
      },
    }),
  );
  const simple = (id, said) =>
    $(id).addEventListener('click', () =>
      act($(id), id, {}, {
        success: (c) => {
          upsertConversation(c);
          announce(said);
        },
      }),
    );
  simple('close', 'Conversation closed.');
  simple('reopen', 'Conversation reopened.');
  $('older').addEventListener('click', loadOlder);
  $('back').addEventListener('click', () => {
    location.hash = '';
  });

  const reply = async () => {
    const text = $('reply-text');
    const body = text.value.trim();
    if (!body) {
      showError(new Error('Write a reply first.'));
      text.focus();
      return;
    }
    // The same text retried after a network error keeps its key, so it cannot go out twice.
    state.replyKey ??= randomId('console-reply-');
    const sent = await act($('reply-send'), 'reply', { agent: state.agent, type: 'text', text: { body } }, {
      idempotencyKey: state.replyKey,
      success: (m) => upsertEntry('message', m),
    });
    if (sent) {
      text.value = '';
      state.replyKey = null;
      announce('Reply queued.');
    }
    text.focus();
  };
  $('reply-form').addEventListener('submit', (e) => {
    e.preventDefault();
    reply();
  });
  $('reply-text').addEventListener('input', () => {
    state.replyKey = null;
  });
  $('reply-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      reply();
    }
  });

  $('note-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('note-text');
    const body = text.value.trim();
    if (!body) {
      showError(new Error('Write the note first.'));
      text.focus();
      return;
    }
    const note = await act($('note-add'), 'notes', { agent: state.agent, body }, { success: (n) => upsertEntry('note', n) });
    if (note) {
      text.value = '';
      announce('Note added. It is not sent to the customer.');
    }
  });
}
