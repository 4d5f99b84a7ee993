import fc from 'fast-check';
import { splitText } from './split-text';

describe('splitText', () => {
  it('leaves short text alone', () => {
    expect(splitText('Hello there.')).toEqual(['Hello there.']);
  });

  it('cuts at sentence boundaries when it can', () => {
    const s = 'One two three. Four five six. Seven eight nine.';
    expect(splitText(s, 20)).toEqual(['One two three.', 'Four five six.', 'Seven eight nine.']);
  });

  it('prefers paragraph breaks, and cuts words only when one word is too long', () => {
    expect(splitText('Short para.\n\nSecond para here.', 20)).toEqual(['Short para.', 'Second para here.']);
    expect(splitText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('every part fits and no word is lost (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,12}[.!?]?$/), { minLength: 1, maxLength: 200 }), fc.integer({ min: 15, max: 120 }), (words, max) => {
        const text = words.join(' ');
        const parts = splitText(text, max);
        for (const p of parts) expect(p.length).toBeLessThanOrEqual(max);
        expect(parts.join(' ').split(/\s+/)).toEqual(text.split(/\s+/));
      }),
      { numRuns: 500 },
    );
  });

  it('handles the real limit', () => {
    const sentence = 'Our espresso is pulled from a medium roast blend sourced from Colombia and Ethiopia. ';
    const parts = splitText(sentence.repeat(120));
    expect(parts.length).toBe(3);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p.endsWith('.')).toBe(true);
    }
  });
});
