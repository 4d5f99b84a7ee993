// The conversation list: filters, search, paging, and the live upserts that keep it current.
import { ApiError } from './api.js';
import { $, setText } from './dom.js';
import { errorText } from './format.js';
import { changes, state } from './store.js';
import { conversationItem } from './views.js';

const PAGE = 30;

export function scheduleRefresh(id) {
  if (!id || state.refreshTimers.has(id)) return;
  state.refreshTimers.set(
    id,
    setTimeout(() => {
      state.refreshTimers.delete(id);
      refreshConversation(id);
    }, 250),
  );
}

export async function refreshConversation(id) {
  if (!state.api) return;
  try {
    upsertConversation(await state.api.get(`/v1/conversations/${encodeURIComponent(id)}`));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) removeConversation(id);
  }
}


function matchesFilter(c) {
  return !state.filter.mode || c.mode === state.filter.mode;
}

export function upsertConversation(c) {
  const i = state.conversations.findIndex((x) => x.id === c.id);
  // With a search active only the server knows what matches; new arrivals wait for the next search.
  if (!matchesFilter(c) || (i === -1 && state.filter.q)) {
    if (i !== -1) state.conversations.splice(i, 1);
  } else if (i === -1) state.conversations.push(c);
  else state.conversations[i] = c;
  state.conversations.sort((a, b) => Date.parse(b.last_activity_at ?? b.updated_at) - Date.parse(a.last_activity_at ?? a.updated_at));
  renderList();
  changes.dispatchEvent(new CustomEvent('conversation', { detail: c }));
}

function removeConversation(id) {
  state.conversations = state.conversations.filter((c) => c.id !== id);
  renderList();
}

export async function loadList({ more = false } = {}) {
  if (!state.api) return;
  const load = ++state.listLoad;
  setText($('list-error'), '');
  try {
    const page = await state.api.get('/v1/conversations', {
      mode: state.filter.mode,
      q: state.filter.q,
      limit: PAGE,
      starting_after: more ? state.listCursor : undefined,
    });
    if (load !== state.listLoad) return; // a newer filter won
    state.conversations = more ? [...state.conversations, ...page.data.filter((c) => !state.conversations.some((x) => x.id === c.id))] : page.data;
    state.listCursor = page.has_more ? page.next_cursor : null;
    renderList();
  } catch (e) {
    if (load === state.listLoad) setText($('list-error'), errorText(e));
  }
}

export function renderList() {
  const list = $('conversation-list');
  const focusedId = document.activeElement?.closest?.('#conversation-list [data-id]')?.dataset.id;
  const now = Date.now();
  list.replaceChildren(...state.conversations.map((c) => conversationItem(c, { selected: c.id === state.openId, now })));
  $('list-empty').hidden = state.conversations.length > 0;
  $('list-more').hidden = !state.listCursor;
  // Re-rendering replaces the buttons; keep keyboard focus where it was.
  if (focusedId) list.querySelector(`button[data-id="${CSS.escape(focusedId)}"]`)?.focus({ preventScroll: true });
}

export function setupList() {
  const form = $('filters');
  form.addEventListener('submit', (e) => e.preventDefault());
  form.addEventListener('change', (e) => {
    if (e.target.name !== 'mode') return;
    state.filter.mode = e.target.value;
    loadList();
  });
  let timer;
  $('search').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.filter.q = $('search').value.trim();
      loadList();
    }, 300);
  });
  $('list-more').addEventListener('click', () => loadList({ more: true }));
  $('conversation-list').addEventListener('click', (e) => {
    const button = e.target.closest('button[data-id]');
    if (button) location.hash = button.dataset.id;
  });
}
