import { createHash, randomBytes } from 'node:crypto';
import type { KeyMode } from './scopes';

/**
 * API key tokens: `gw_live_` or `gw_test_` + 32 base64url characters (192 random bits).
 * Only the sha256 is stored: a key of that entropy cannot be brute-forced, so a slow hash buys
 * nothing and a fixed-width hash can be looked up by index.
 */
export const TOKEN_FORMAT = /^gw_(live|test)_[A-Za-z0-9_-]{32,}$/;

export interface GeneratedToken {
  plaintext: string;
  hash: string;
  prefix: string;
  lastFour: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function describeToken(token: string): Omit<GeneratedToken, 'plaintext'> & { mode: KeyMode } {
  const mode: KeyMode = token.startsWith('gw_test_') ? 'test' : 'live';
  return { hash: hashToken(token), prefix: `gw_${mode}_`, lastFour: token.slice(-4), mode };
}

export function generateToken(mode: KeyMode): GeneratedToken {
  const plaintext = `gw_${mode}_${randomBytes(24).toString('base64url')}`;
  const { hash, prefix, lastFour } = describeToken(plaintext);
  return { plaintext, hash, prefix, lastFour };
}
