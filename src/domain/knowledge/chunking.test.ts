import { splitDocument, toPlainText, CHUNK_SIZE } from './chunking';

describe('chunking', () => {
  it('turns HTML into readable text without tags or scripts', () => {
    const text = toPlainText('<h1>Hours</h1><p>Open <b>7am</b> to 6pm.</p><script>alert(1)</script><a href="https://x.test">menu</a>', 'html');
    expect(text).toContain('Hours');
    expect(text).toContain('Open 7am to 6pm.');
    expect(text).toContain('menu');
    expect(text).not.toMatch(/<|alert|https:\/\/x\.test/);
  });

  it('keeps a short document in one chunk and splits a long one into bounded, overlapping chunks', async () => {
    expect(await splitDocument('We open at 7am.', 'text')).toEqual(['We open at 7am.']);
    const long = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} talks about coffee beans and milk.`).join(' ');
    const chunks = await splitDocument(long, 'text');
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(CHUNK_SIZE);
    expect(chunks.join(' ')).toContain('Sentence number 59');
  });

  it('splits markdown on its headings', async () => {
    const md = Array.from({ length: 8 }, (_, i) => `## Section ${i}\n\n${'Details about this section. '.repeat(12)}`).join('\n\n');
    const chunks = await splitDocument(md, 'markdown');
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0]).toMatch(/^## Section 0/);
  });

  it('gives no chunks for a blank document', async () => {
    expect(await splitDocument('  \n ', 'text')).toEqual([]);
    expect(await splitDocument('<p> </p>', 'html')).toEqual([]);
  });
});
