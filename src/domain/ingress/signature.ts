import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256 of the raw body with the app secret. The
 * raw bytes are hashed as received: Meta signs its escaped-ASCII serialisation, and re-serialising
 * parsed JSON would break every non-ASCII payload.
 */
const HEADER = /^sha256=([0-9a-fA-F]{64})$/;

export function signBody(raw: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

/** Returns the secret that produced the signature, or undefined. Constant time per secret. */
export function matchSignature<T extends { appSecret: string }>(raw: Buffer, header: string | undefined, candidates: T[]): T | undefined {
  const m = HEADER.exec(header?.trim() ?? '');
  if (!m) return undefined;
  const given = Buffer.from((m[1] as string).toLowerCase(), 'hex');
  let found: T | undefined;
  for (const c of candidates) {
    const expected = createHmac('sha256', c.appSecret).update(raw).digest();
    // Keep comparing after a match: the time taken does not depend on which secret matched.
    if (timingSafeEqual(expected, given) && !found) found = c;
  }
  return found;
}

const PHONE_NUMBER_ID = /"phone_number_id"\s*:\s*"(\d{1,32})"/g;
const NUMERIC_ID = /"id"\s*:\s*"(\d{1,32})"/g;
const MAX_CANDIDATES = 200;

/**
 * The ids that say whose payload this is, read from the raw bytes before anything is trusted:
 * metadata.phone_number_id of messages changes, and numeric `id`s (entry.id is the WABA) for
 * the fields that carry no metadata. The signature decides which of them are real.
 */
export function candidateIds(raw: Buffer): { phoneNumberIds: string[]; wabaIds: string[] } {
  const text = raw.toString('utf8');
  const collect = (re: RegExp) => {
    const out = new Set<string>();
    for (const m of text.matchAll(re)) {
      out.add(m[1] as string);
      if (out.size >= MAX_CANDIDATES) break;
    }
    return [...out];
  };
  return { phoneNumberIds: collect(PHONE_NUMBER_ID), wabaIds: collect(NUMERIC_ID) };
}
