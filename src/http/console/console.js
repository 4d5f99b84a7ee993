// The agent console: sign in with an API key, a live list of conversations, one open conversation
// with its transcript, takeover / reply / notes / handback / close. Only the public API is used.
import { ApiError, createApi, randomId } from './api.js';
import { $, announce, setText, setView } from './dom.js';
import { contactName, errorText } from './format.js';
import { openEventStream } from './sse.js';
import { renderDetail, route, setupActions, upsertEntry } from './conversation.js';
import { loadList, refreshConversation, renderList, scheduleRefresh, setupList, upsertConversation } from './list.js';
import { state } from './store.js';

const STORE = { key: 'console.apiKey', name: 'console.agentName', id: 'console.agentId' };

// ---- session ---------------------------------------------------------------------------------

function agentId() {
  let id = sessionStorage.getItem(STORE.id);
  if (!id) {
    id = randomId('agt_');
    sessionStorage.setItem(STORE.id, id);
  }
  return id;
}


async function signIn(token, name, { silent = false } = {}) {
  const api = createApi(token);
  const me = await api.get('/v1/me');
  sessionStorage.setItem(STORE.key, token);
  sessionStorage.setItem(STORE.name, name);
  state.token = token;
  state.agent = { id: agentId(), name };
  state.api = createApi(token, { onUnauthorized: (e) => signOut(`The gateway refused the API key: ${errorText(e)}`) });
  const workspace = me?.workspace?.name;
  setText($('workspace-name'), workspace ? `Workspace: ${workspace}` : '');
  $('workspace-name').hidden = !workspace;
  setText($('agent-label'), `Signed in as ${name}`);
  $('agent-label').hidden = false;
  $('sign-out').hidden = false;
  $('signin').hidden = true;
  $('workspace').hidden = false;
  $('api-key').value = '';
  startStream();
  await loadList();
  route();
  if (!silent) announce(`Connected${workspace ? ` to ${workspace}` : ''}.`);
}

function signOut(message = '') {
  state.stream?.close();
  state.stream = null;
  sessionStorage.removeItem(STORE.key);
  state.api = null;
  state.token = '';
  state.conversations = [];
  state.openId = null;
  state.open = null;
  state.entries.clear();
  $('conversation-list').replaceChildren();
  $('workspace').hidden = true;
  $('signin').hidden = false;
  $('sign-out').hidden = true;
  $('agent-label').hidden = true;
  $('workspace-name').hidden = true;
  setConnection('off', 'Not connected');
  setView('signin');
  setText($('signin-error'), message);
  $('agent-name').value = sessionStorage.getItem(STORE.name) ?? '';
  $('api-key').focus();
}

function setupSignIn() {
  $('agent-name').value = sessionStorage.getItem(STORE.name) ?? '';
  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('api-key').value.trim();
    const name = $('agent-name').value.trim();
    setText($('signin-error'), '');
    if (!token) return fieldError('api-key', 'Paste an API key.');
    if (!name) return fieldError('agent-name', 'Enter your name.');
    const button = $('signin-submit');
    button.disabled = true;
    setText(button, 'Connecting…');
    try {
      await signIn(token, name);
    } catch (e) {
      setText($('signin-error'), e instanceof ApiError && e.status === 401 ? `That API key was not accepted: ${errorText(e)}` : errorText(e));
      $('api-key').focus();
    } finally {
      button.disabled = false;
      setText(button, 'Connect');
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
}

function fieldError(id, message) {
  setText($('signin-error'), message);
  $(id).setAttribute('aria-invalid', 'true');
  $(id).focus();
  $(id).addEventListener('input', () => $(id).removeAttribute('aria-invalid'), { once: true });
}

// ---- live updates ----------------------------------------------------------------------------

function setConnection(stateName, text) {
  $('connection').dataset.state = stateName;
  setText($('connection-text'), text);
}

function startStream() {
  state.stream?.close();
  let dropped = false;
  state.stream = openEventStream({
    url: '/v1/events/stream',
    token: state.token,
    onEvent: handleEvent,
    onState: (s) => {
      if (s.state === 'open') {
        setConnection('live', 'Live');
        // Last-Event-ID resumes the stream; reloading what is on screen also covers a server
        // that could not replay everything.
        if (dropped) {
          dropped = false;
          loadList();
          if (state.openId) refreshConversation(state.openId);
        }
      } else if (s.state === 'connecting') {
        setConnection('connecting', 'Connecting…');
      } else if (s.state === 'retrying') {
        dropped = true;
        setConnection('retrying', `Reconnecting in ${Math.ceil(s.delay / 1000)} s`);
      } else if (s.state === 'stopped') {
        setConnection('error', `Live updates stopped: ${errorText(s.error)}`);
        if (s.error?.status === 401) signOut(`The gateway refused the API key: ${errorText(s.error)}`);
      }
    },
  });
}

function handleEvent(event) {
  let payload;
  try {
    payload = JSON.parse(event.data);
  } catch {
    return;
  }
  const type = payload.type ?? event.type;
  const data = payload.data ?? {};
  const conversationId = payload.conversation_id ?? data.conversation?.id ?? data.message?.conversation_id ?? data.note?.conversation_id;
  if (data.conversation) upsertConversation(data.conversation);
  if (data.message) {
    if (data.message.conversation_id === state.openId) upsertEntry('message', data.message);
    // Unread counts, the window and the preview change with every message: ask for the conversation.
    scheduleRefresh(data.message.conversation_id);
  } else if (conversationId && !data.conversation && type.startsWith('conversation.')) {
    scheduleRefresh(conversationId);
  }
  if (data.note && data.note.conversation_id === state.openId) upsertEntry('note', data.note);
  if (type === 'message.received' && data.message) {
    const c = state.conversations.find((x) => x.id === data.message.conversation_id);
    const who = data.contact?.profile?.name ?? data.contact?.name ?? (c ? contactName(c) : 'a customer');
    announce(data.message.conversation_id === state.openId ? `New message from ${who}: ${data.message.content?.text ?? ''}` : `New message from ${who}.`);
  } else if (type === 'conversation.handoff_requested' && data.conversation) {
    announce(`${contactName(data.conversation)} is waiting for a person.`);
  }
}


// ---- start -----------------------------------------------------------------------------------

function setupKeyboard() {
  document.addEventListener('keydown', (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
    if (e.key === '/' && !typing && state.api) {
      e.preventDefault();
      $('search').focus();
    } else if (e.key === 'Escape' && state.openId && document.body.dataset.view === 'detail' && !typing) {
      location.hash = '';
    }
  });
}

function start() {
  setupSignIn();
  setupList();
  setupActions();
  setupKeyboard();
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => state.stream?.reconnect());
  // The countdowns move on between events.
  setInterval(() => {
    if (!state.api) return;
    renderList();
    renderDetail();
  }, 30_000);
  const token = sessionStorage.getItem(STORE.key);
  const name = sessionStorage.getItem(STORE.name);
  if (token && name) {
    signIn(token, name, { silent: true }).catch((e) => signOut(errorText(e)));
  } else {
    setView('signin');
  }
}

start();
