// The open chat on the phone, and what the customer sends from it: text, a photo, a location,
// a tap on a reply button or a list row of the business.
import { $, setText, setView } from '/console/dom.js';
import { bubble, note, react } from './bubbles.js';
import { renderCustomers } from './customers.js';
import { base, customerLabel, errorText, state } from './state.js';

export async function openChat(waId) {
  const customer = state.customers.get(waId);
  if (!customer) return;
  state.openWa = waId;
  state.entries.clear();
  customer.unread = 0;
  setText($('chat-title'), state.number.display_number ?? 'Business');
  setText($('chat-sub'), `You are ${customerLabel(customer)}${customer.name ? ` (+${waId})` : ''}`);
  setText($('chat-error'), '');
  $('phone-placeholder').hidden = true;
  $('phone-frame').hidden = false;
  setView('chat');
  renderMode();
  renderCustomers();
  const list = await state.api.get(`${base()}/customers/${waId}/messages`);
  if (state.openWa !== waId) return;
  for (const e of list.data) state.entries.set(e.id, e);
  const last = list.data.at(-1);
  if (last) customer.last = last;
  renderChat();
  renderCustomers();
  $('message').focus();
}

export function renderChat() {
  const items = [...state.entries.values()].map((e) => ({ at: e.at, entry: e }));
  for (const n of state.notes.get(state.openWa) ?? []) items.push({ at: n.at, note: n });
  items.sort((a, b) => a.at.localeCompare(b.at));
  const list = $('chat');
  list.replaceChildren();
  for (const item of items) {
    if (item.note) list.append(note(item.note));
    else if (item.entry.type !== 'reaction' || !react(list, item.entry)) list.append(bubble(item.entry, bubbleOptions()));
  }
  list.scrollTop = list.scrollHeight;
}

export const bubbleOptions = () => ({ mediaUrl, onReply: tap, find: (id) => state.entries.get(id) });

export function showEntry(entry) {
  const list = $('chat');
  state.entries.set(entry.id, entry);
  const existing = [...list.children].find((li) => li.dataset.id === entry.id);
  if (entry.type === 'reaction' && react(list, entry)) return;
  const fresh = bubble(entry, bubbleOptions());
  if (existing) existing.replaceWith(fresh);
  else list.append(fresh);
  list.scrollTop = list.scrollHeight;
}

export function renderMode() {
  const c = state.customers.get(state.openWa);
  const mode = c?.conversation?.mode;
  const el = $('mode-note');
  el.hidden = !mode || mode === 'bot';
  el.dataset.mode = mode ?? '';
  setText(el, mode === 'human' ? `${c.conversation.assignee ?? 'A person'} from the business is handling this chat` : 'Waiting for a person from the business…');
}

export function mediaUrl(id) {
  if (!state.media.has(id)) {
    state.media.set(
      id,
      fetch(`/sandbox/api/media/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${state.token}` }, cache: 'no-store' })
        .then((r) => (r.ok ? r.blob() : null))
        .then((b) => (b ? URL.createObjectURL(b) : null))
        .catch(() => null),
    );
  }
  return state.media.get(id);
}

async function send(body) {
  const waId = state.openWa;
  setText($('chat-error'), '');
  try {
    const entry = await state.api.post(`${base()}/customers/${waId}/messages`, body);
    if (state.openWa === waId) showEntry(entry);
    const c = state.customers.get(waId);
    if (c) c.last = entry;
    renderCustomers();
    return true;
  } catch (e) {
    setText($('chat-error'), errorText(e));
    return false;
  }
}

function tap(entry, type, id) {
  return send({ type, reply_to: entry.id, id });
}

async function sendPhoto(file) {
  const caption = $('message').value.trim();
  setText($('chat-error'), '');
  const res = await fetch(`${base()}/media`, { method: 'POST', headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': file.type || 'application/octet-stream' }, body: file });
  const json = await res.json().catch(() => null);
  if (!res.ok) return setText($('chat-error'), json?.error?.message ?? `The photo was refused (HTTP ${res.status}).`);
  if (await send({ type: 'image', media_id: json.id, ...(caption ? { caption } : {}) })) $('message').value = '';
}

export function setupComposer() {
  $('composer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('message').value.trim();
    if (!text || !state.openWa) return;
    $('send').disabled = true;
    if (await send({ type: 'text', text })) $('message').value = '';
    $('send').disabled = false;
    $('message').focus();
  });
  $('message').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('attach').addEventListener('click', () => $('photo').click());
  $('photo').addEventListener('change', async () => {
    const file = $('photo').files?.[0];
    $('photo').value = '';
    if (file) await sendPhoto(file);
  });
  $('share-location').addEventListener('click', () => {
    $('location-form').hidden = false;
    $('loc-lat').focus();
  });
  $('loc-cancel').addEventListener('click', () => {
    $('location-form').hidden = true;
  });
  $('location-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const latitude = Number($('loc-lat').value);
    const longitude = Number($('loc-long').value);
    if (!Number.isFinite(latitude) || Math.abs(latitude) > 90 || $('loc-lat').value === '') return setText($('chat-error'), 'Latitude must be a number from -90 to 90.');
    if (!Number.isFinite(longitude) || Math.abs(longitude) > 180 || $('loc-long').value === '') return setText($('chat-error'), 'Longitude must be a number from -180 to 180.');
    const name = $('loc-name').value.trim();
    const address = $('loc-address').value.trim();
    if (await send({ type: 'location', latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) })) $('location-form').hidden = true;
  });
  $('back').addEventListener('click', () => {
    state.openWa = null;
    setView('list');
    renderCustomers();
  });
}
