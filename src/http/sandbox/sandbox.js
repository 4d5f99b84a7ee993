// The WhatsApp sandbox page: play the customers of a sandbox number. Pick or add a customer, chat
// with the business (text, photos, locations, taps on its buttons and list rows) and watch the
// ticks and the takeover notes live. It talks only to this gateway's /sandbox/api with the API key.
import { ApiError, createApi } from '/console/api.js';
import { $, announce, setText, setView } from '/console/dom.js';
import { openEventStream } from '/console/sse.js';
import { bubble, note, ticks } from './bubbles.js';
import { bubbleOptions, openChat, renderMode, setupComposer, showEntry } from './chat.js';
import { loadCustomers, onOpenCustomer, renderCustomers, setupNewCustomer } from './customers.js';
import { customerLabel, errorText, fieldError, state } from './state.js';

const STORE = { key: 'sandbox.apiKey', number: 'sandbox.number' };

// ---- session ----------------------------------------------------------------------------------

/** The start banner links to /sandbox#key=...: keep the key in this tab, drop it from the URL. */
function keyFromFragment() {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (!m) return false;
  sessionStorage.setItem(STORE.key, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
  return true;
}

async function signIn(token) {
  const api = createApi(token, { onUnauthorized: (e) => signOut(`The gateway refused the API key: ${errorText(e)}`) });
  const numbers = await api.get('/sandbox/api/numbers');
  sessionStorage.setItem(STORE.key, token);
  state.token = token;
  state.api = api;
  state.numbers = numbers.data;
  $('signin').hidden = true;
  $('sign-out').hidden = false;
  $('api-key').value = '';
  if (state.numbers.length === 0) {
    $('no-numbers').hidden = false;
    return;
  }
  const select = $('number');
  select.replaceChildren(...state.numbers.map((n) => new Option(n.display_number ?? n.phone_number_id, n.phone_number_id)));
  const remembered = sessionStorage.getItem(STORE.number);
  select.value = state.numbers.some((n) => n.phone_number_id === remembered) ? remembered : state.numbers[0].phone_number_id;
  $('number-field').hidden = state.numbers.length < 2;
  $('sandbox').hidden = false;
  await useNumber(select.value);
  startStream();
}

function signOut(message = '') {
  state.stream?.close();
  sessionStorage.removeItem(STORE.key);
  Object.assign(state, { token: '', api: null, stream: null, numbers: [], number: null, openWa: null });
  state.customers.clear();
  state.entries.clear();
  for (const url of state.media.values()) url.then((u) => u && URL.revokeObjectURL(u));
  state.media.clear();
  $('sandbox').hidden = true;
  $('no-numbers').hidden = true;
  $('number-field').hidden = true;
  $('sign-out').hidden = true;
  $('signin').hidden = false;
  setConnection('off', 'Not connected');
  setView('signin');
  setText($('signin-error'), message);
  $('api-key').focus();
}

async function useNumber(phoneNumberId) {
  state.number = state.numbers.find((n) => n.phone_number_id === phoneNumberId);
  sessionStorage.setItem(STORE.number, phoneNumberId);
  state.openWa = null;
  state.customers.clear();
  state.notes.clear();
  $('phone-frame').hidden = true;
  $('phone-placeholder').hidden = false;
  setView('list');
  await loadCustomers();
}

// ---- live updates -------------------------------------------------------------------------------

function setConnection(name, text) {
  $('connection').dataset.state = name;
  setText($('connection-text'), text);
}

const NOTES = {
  'conversation.takeover': (e) => `${e.agent ?? 'A person'} from the business has taken over this chat.`,
  'conversation.handback': () => 'The automated assistant is back in this chat.',
  'conversation.handoff_requested': () => 'Waiting for a person from the business…',
  'conversation.closed': () => 'The business closed this chat.',
  'conversation.reopened': () => 'The business reopened this chat.',
};

function handle(event) {
  let e;
  try {
    e = JSON.parse(event.data);
  } catch {
    return;
  }
  if (!state.number || e.phone_number_id !== state.number.phone_number_id) return;
  const open = e.wa_id === state.openWa && state.openWa !== null;
  if (e.kind === 'customer') {
    const known = state.customers.get(e.customer.wa_id);
    state.customers.set(e.customer.wa_id, { conversation: null, unread: 0, last: null, ...known, ...e.customer, name: e.customer.name || known?.name || '' });
    renderCustomers();
  } else if (e.kind === 'message') {
    const c = state.customers.get(e.wa_id) ?? { wa_id: e.wa_id, name: '', created_at: e.message.at, conversation: null, unread: 0 };
    c.last = e.message;
    if (open) showEntry(e.message);
    else if (e.message.from === 'business') c.unread += 1;
    if (e.message.from === 'business') {
      clearTimeout(state.typingTimer);
      if (open) setText($('chat-sub'), `You are ${customerLabel(c)}`);
      if (!open) announce(`New message for ${customerLabel(c)}.`);
    }
    state.customers.set(e.wa_id, c);
    renderCustomers();
  } else if (e.kind === 'status') {
    const entry = state.entries.get(e.id);
    if (open && entry) {
      entry.status = e.status;
      if (e.error) entry.error = e.error;
      const li = [...$('chat').children].find((x) => x.dataset.id === e.id);
      if (li && e.status === 'failed') li.replaceWith(bubble(entry, bubbleOptions()));
      else li?.querySelector('.ticks')?.replaceWith(ticks(e.status));
    }
  } else if (e.kind === 'typing' && open) {
    setText($('chat-sub'), 'typing…');
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => {
      const c = state.customers.get(state.openWa);
      if (c) setText($('chat-sub'), `You are ${customerLabel(c)}`);
    }, 25_000);
  } else if (e.kind === 'conversation' && e.wa_id) {
    const c = state.customers.get(e.wa_id);
    if (c) c.conversation = { ...(c.conversation ?? {}), mode: e.mode, assignee: e.mode === 'human' ? e.agent : null };
    const text = NOTES[e.type]?.(e);
    if (text) {
      const n = { kind: e.type, text, at: e.at ?? new Date().toISOString() };
      state.notes.set(e.wa_id, [...(state.notes.get(e.wa_id) ?? []), n]);
      if (open) {
        $('chat').append(note(n));
        $('chat').scrollTop = $('chat').scrollHeight;
        announce(text);
      }
    }
    if (open) renderMode();
    renderCustomers();
  }
}

function startStream() {
  state.stream?.close();
  let dropped = false;
  state.stream = openEventStream({
    url: '/sandbox/api/stream',
    token: state.token,
    onEvent: handle,
    onState: (s) => {
      if (s.state === 'open') {
        setConnection('live', 'Live');
        if (dropped) {
          dropped = false;
          loadCustomers().then(() => state.openWa && openChat(state.openWa)).catch(() => undefined);
        }
      } else if (s.state === 'connecting') setConnection('connecting', 'Connecting…');
      else if (s.state === 'retrying') {
        dropped = true;
        setConnection('retrying', `Reconnecting in ${Math.ceil(s.delay / 1000)} s`);
      } else if (s.state === 'stopped') {
        setConnection('error', `Live updates stopped: ${errorText(s.error)}`);
        if (s.error?.status === 401) signOut(`The gateway refused the API key: ${errorText(s.error)}`);
      }
    },
  });
}

// ---- start --------------------------------------------------------------------------------------

function setupSignIn() {
  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('api-key').value.trim();
    setText($('signin-error'), '');
    if (!token) return fieldError('api-key', 'signin-error', 'Paste an API key.');
    $('signin-submit').disabled = true;
    try {
      await signIn(token);
    } catch (e) {
      setText($('signin-error'), e instanceof ApiError && e.status === 401 ? `That API key was not accepted: ${errorText(e)}` : errorText(e));
    } finally {
      $('signin-submit').disabled = false;
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('number').addEventListener('change', () => useNumber($('number').value).catch((e) => setText($('customer-error'), errorText(e))));
}

function start() {
  onOpenCustomer(openChat);
  setupSignIn();
  setupNewCustomer();
  setupComposer();
  window.addEventListener('online', () => state.stream?.reconnect());
  const resume = () => {
    const token = sessionStorage.getItem(STORE.key);
    if (token) signIn(token).catch((e) => signOut(errorText(e)));
    else setView('signin');
  };
  // A link with a key opened in a tab that already shows the page only changes the fragment.
  window.addEventListener('hashchange', () => {
    if (!keyFromFragment()) return;
    state.stream?.close();
    resume();
  });
  keyFromFragment();
  resume();
}

start();
