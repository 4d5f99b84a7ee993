import { randomBytes } from 'node:crypto';

/**
 * Prefixed, sortable ids: `<prefix>_` + 10 characters of millisecond time + 16 of randomness, in
 * Crockford base32 lower case (a ULID). Lexical order is creation order (to the millisecond),
 * which is what cursor pagination relies on.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const ID_PREFIXES = {
  workspace: 'ws',
  phoneNumber: 'num',
  contact: 'ct',
  conversation: 'conv',
  message: 'msg',
  template: 'tpl',
  document: 'doc',
  chunk: 'chk',
  gap: 'gap',
  apiKey: 'key',
  webhookEndpoint: 'whe',
  webhookDelivery: 'whd',
  event: 'evt',
  usage: 'use',
  media: 'med',
  note: 'note',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

// Random bytes are drawn from a pool refilled 4 KB at a time (as crypto.randomUUID does): one
// call into OpenSSL per 256 ids instead of one per id, on the ingress's hot path.
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;

function encodeRandom(): string {
  if (offset + 16 > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHABET[(pool[offset + i] ?? 0) % 32];
  offset += 16;
  return out;
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${encodeRandom()}`;
}

const ID_BODY = /^[0-9a-hjkmnp-tv-z]{26}$/;

/** True when `value` has the shape of an id of that kind (it may still not exist). */
export function isId(kind: IdKind, value: string): boolean {
  const prefix = `${ID_PREFIXES[kind]}_`;
  return value.startsWith(prefix) && ID_BODY.test(value.slice(prefix.length));
}
