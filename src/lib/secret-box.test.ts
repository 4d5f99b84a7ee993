import { randomBytes } from 'node:crypto';
import { createSecretBox, SecretBoxError } from './secret-box';

describe('secret box (AES-256-GCM)', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips, with a fresh IV every time', () => {
    const a = box.encrypt('EAAG token ✓', 'phone_numbers.access_token');
    const b = box.encrypt('EAAG token ✓', 'phone_numbers.access_token');
    expect(a).not.toBe(b);
    expect(a).not.toContain('EAAG');
    expect(box.decrypt(a, 'phone_numbers.access_token')).toBe('EAAG token ✓');
  });

  it('detects tampering with the ciphertext, the tag or the IV', () => {
    const sealed = box.encrypt('secret', 'ctx');
    const [v, iv, tag, body] = sealed.split('.') as [string, string, string, string];
    const flip = (s: string) => {
      const buf = Buffer.from(s, 'base64url');
      buf[0] = (buf[0] ?? 0) ^ 1;
      return buf.toString('base64url');
    };
    for (const bad of [
      [v, iv, tag, flip(body)],
      [v, iv, flip(tag), body],
      [v, flip(iv), tag, body],
    ]) {
      expect(() => box.decrypt(bad.join('.'), 'ctx')).toThrow(SecretBoxError);
    }
  });

  it('refuses another context and another key', () => {
    const sealed = box.encrypt('secret', 'phone_numbers.app_secret');
    expect(() => box.decrypt(sealed, 'phone_numbers.access_token')).toThrow(SecretBoxError);
    expect(() => createSecretBox(randomBytes(32)).decrypt(sealed, 'phone_numbers.app_secret')).toThrow(SecretBoxError);
  });

  it('refuses garbage and keys of the wrong size', () => {
    expect(() => box.decrypt('plain', 'ctx')).toThrow(SecretBoxError);
    expect(() => createSecretBox(randomBytes(16))).toThrow(SecretBoxError);
  });
});
