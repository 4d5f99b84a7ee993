// The console's state, shared by the list and the open conversation. Changes to a conversation
// are announced on `changes` so that each view redraws its own part.
export const state = {
  api: null,
  token: '',
  agent: null,
  stream: null,
  filter: { mode: '', q: '' },
  conversations: [],
  listCursor: null,
  listLoad: 0,
  openId: null,
  open: null,
  /** id -> { kind: 'message' | 'note', at, data } for the open conversation. */
  entries: new Map(),
  olderCursor: null,
  openLoad: 0,
  refreshTimers: new Map(),
  replyKey: null,
};

/** 'conversation' events (detail: the conversation object) after the list took a new copy. */
export const changes = new EventTarget();
