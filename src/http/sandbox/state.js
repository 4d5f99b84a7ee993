// The page's state and the helpers every part of it uses.
import { ApiError } from '/console/api.js';
import { $, setText } from '/console/dom.js';

export const state = {
  token: '',
  api: null,
  stream: null,
  numbers: [],
  number: null,
  /** wa_id -> { wa_id, name, created_at, conversation, unread, last } */
  customers: new Map(),
  openWa: null,
  /** The open chat's messages, by id. */
  entries: new Map(),
  /** wa_id -> system notes ({ kind, text, at }) seen while the page was open. */
  notes: new Map(),
  /** media id -> Promise of a blob URL. */
  media: new Map(),
  typingTimer: undefined,
};

export const errorText = (e) => (e instanceof ApiError ? e.message : e?.message ?? 'Something went wrong.');
export const base = () => `/sandbox/api/numbers/${encodeURIComponent(state.number.phone_number_id)}`;
export const customerLabel = (c) => c.name || `+${c.wa_id}`;

export function fieldError(id, errorId, message) {
  setText($(errorId), message);
  $(id).setAttribute('aria-invalid', 'true');
  $(id).focus();
  $(id).addEventListener('input', () => $(id).removeAttribute('aria-invalid'), { once: true });
}
