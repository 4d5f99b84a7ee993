import { isId, newId } from './ids';

describe('ids', () => {
  it('are prefixed and sort by creation time', () => {
    const a = newId('message', 1_000_000);
    const b = newId('message', 1_000_001);
    expect(a).toMatch(/^msg_[0-9a-z]{26}$/);
    expect(a < b).toBe(true);
  });

  it('are recognised by kind', () => {
    const id = newId('apiKey');
    expect(isId('apiKey', id)).toBe(true);
    expect(isId('workspace', id)).toBe(false);
    expect(isId('apiKey', `${id}x`)).toBe(false);
    expect(isId('apiKey', 'key_../../etc')).toBe(false);
  });

  it('do not collide', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('event', 42)));
    expect(ids.size).toBe(10_000);
  });
});
