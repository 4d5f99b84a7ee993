// Server-Sent Events over fetch(). EventSource cannot send an Authorization header, so the console
// reads the stream itself: a parser that follows the HTML spec's event-stream rules, and a reader
// that reconnects after a drop with Last-Event-ID and exponential backoff.

/**
 * Feed it decoded text in any chunking; it calls onEvent({ type, data, id }) for each event and
 * onComment(text) for comment lines (the server's ": ping" heartbeats).
 */
export function createSseParser({ onEvent, onComment = () => {}, onRetry = () => {} }) {
  let buffer = '';
  let first = true;
  let data = [];
  let type = '';
  // As in the spec: an id line fills a buffer that becomes the resume point only when its event
  // is complete (a blank line), so a drop in the middle of an event does not skip it.
  let idBuffer = '';
  let lastId = '';

  const dispatch = () => {
    lastId = idBuffer;
    const hadData = data.length > 0;
    const event = { type: type || 'message', data: data.join('\n'), id: lastId };
    data = [];
    type = '';
    if (hadData) onEvent(event);
  };

  const line = (text) => {
    if (text === '') return dispatch();
    if (text.startsWith(':')) return onComment(text.slice(1).trimStart());
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id') {
      if (!value.includes('\0')) idBuffer = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
  };

  return {
    push(chunk) {
      buffer += chunk;
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      // Lines end with CRLF, LF or CR. A CR at the very end may be the first half of a CRLF.
      for (;;) {
        const m = /\r\n|\n|\r/.exec(buffer);
        if (!m) break;
        if (m[0] === '\r' && m.index === buffer.length - 1) break;
        const text = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        line(text);
      }
    },
    /** The id of the last event seen, to resume from. */
    get lastEventId() {
      return lastId;
    },
  };
}

/** Delay before reconnect attempt n (0-based): 1 s, 2 s, 4 s ... up to max, with jitter. */
export function backoffDelay(attempt, { base = 1000, max = 30_000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class StreamHttpError extends Error {
  constructor(status, body) {
    const err = body?.error ?? {};
    super(err.message || `The event stream answered HTTP ${status}.`);
    this.name = 'StreamHttpError';
    this.status = status;
    this.code = err.code;
    this.requestId = err.request_id;
  }
}

/**
 * Keeps one event stream open until close(). States reported through onState:
 * connecting, open, retrying ({ delay, error }), stopped ({ error }: the key was refused, nothing
 * a retry can fix), closed.
 */
export function openEventStream({
  url,
  token,
  onEvent,
  onState = () => {},
  lastEventId = '',
  fetchImpl = (...args) => fetch(...args),
  backoff = {},
  idleTimeoutMs = 45_000,
}) {
  let closed = false;
  let controller = null;
  let wake = null;
  let lastId = lastEventId;
  let retryBase = backoff.base ?? 1000;

  const sleep = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function connectOnce(onAlive) {
    controller = new AbortController();
    const abort = controller;
    let idle;
    const armIdle = () => {
      clearTimeout(idle);
      // Heartbeats arrive every 15 s; silence for longer means the connection is dead.
      idle = setTimeout(() => abort.abort(new Error('The event stream went silent.')), idleTimeoutMs);
    };
    try {
      const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
      if (lastId) headers['Last-Event-ID'] = lastId;
      armIdle();
      const res = await fetchImpl(url, { headers, signal: abort.signal, cache: 'no-store' });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new StreamHttpError(res.status, body);
      }
      if (!res.body) throw new Error('The event stream has no body.');
      onState({ state: 'open' });
      const parser = createSseParser({
        onEvent: (event) => {
          lastId = event.id;
          onAlive();
          onEvent(event);
        },
        onComment: onAlive,
        onRetry: (ms) => {
          retryBase = ms;
        },
      });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        armIdle();
        parser.push(decoder.decode(value, { stream: true }));
        // An id on an event without data still moves the resume point.
        lastId = parser.lastEventId || lastId;
      }
      return new Error('The event stream ended.');
    } catch (e) {
      return e;
    } finally {
      clearTimeout(idle);
    }
  }

  (async () => {
    let attempt = 0;
    while (!closed) {
      onState({ state: 'connecting', attempt });
      const error = await connectOnce(() => {
        attempt = 0;
      });
      if (closed) break;
      if (error instanceof StreamHttpError && [401, 403, 404].includes(error.status)) {
        onState({ state: 'stopped', error });
        return;
      }
      const delay = backoffDelay(attempt++, { base: retryBase, max: backoff.max ?? 30_000 });
      onState({ state: 'retrying', delay, error });
      await sleep(delay);
    }
    onState({ state: 'closed' });
  })();

  return {
    close() {
      closed = true;
      controller?.abort();
      wake?.();
    },
    /** Drop the current connection and reconnect at once (e.g. when the network comes back). */
    reconnect() {
      controller?.abort();
      wake?.();
    },
    get lastEventId() {
      return lastId;
    },
  };
}
