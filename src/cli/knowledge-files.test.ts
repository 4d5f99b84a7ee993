import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectFiles, contentTypeOf, MissingPathError, titleOf } from './knowledge-files';

describe('titleOf', () => {
  it('takes the first Markdown "# heading", not one inside a code fence nor a "## sub-heading"', () => {
    const md = '## Intro\n\n```sh\n# not a title\n```\n\n#   Opening hours  ##\n\n# Second\n';
    expect(titleOf('/kb/hours.md', md, 'markdown')).toBe('Opening hours');
  });

  it('takes the HTML <title>, else the first <h1>, without tags and with entities decoded', () => {
    expect(titleOf('/kb/a.html', '<title>\n Fish &amp; Chips </title><h1>Menu</h1>', 'html')).toBe('Fish & Chips');
    expect(titleOf('/kb/a.html', '<title> </title><h1 class="x">Caf&#233; <em>menu</em></h1>', 'html')).toBe('Café menu');
    expect(titleOf('/kb/a.html', '<title>&#x110000; &#0; &bogus;</title>', 'html')).toBe('&#x110000; &#0; &bogus;');
  });

  it('falls back to the file name without its extension', () => {
    expect(titleOf('/kb/refund-policy.txt', '# looks like a heading', 'text')).toBe('refund-policy');
    expect(titleOf('/kb/notes.markdown', 'no heading here', 'markdown')).toBe('notes');
    expect(titleOf('/kb/page.htm', '<p>no title</p>', 'html')).toBe('page');
  });

  it('keeps titles within the 500 characters a document allows', () => {
    expect(titleOf('/kb/a.md', `# ${'x'.repeat(600)}`, 'markdown')).toHaveLength(500);
  });
});

describe('collectFiles', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-files-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'kb/sub'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'kb/.git'));
    fs.writeFileSync(path.join(dir, 'kb/b.md'), '# B');
    fs.writeFileSync(path.join(dir, 'kb/a.TXT'), '\uFEFFalpha');
    fs.writeFileSync(path.join(dir, 'kb/sub/c.htm'), '<h1>C</h1>');
    fs.writeFileSync(path.join(dir, 'kb/sub/logo.png'), Buffer.from([0x89, 0x50]));
    fs.writeFileSync(path.join(dir, 'kb/sub/bin.txt'), Buffer.from([0x61, 0x00, 0x62]));
    fs.writeFileSync(path.join(dir, 'kb/.git/HEAD.md'), 'ref');
  });

  it('walks folders recursively in name order, skips other types and hidden entries, labels relative to cwd', () => {
    const r = collectFiles(['kb', 'kb/b.md'], dir);
    expect(r.files.map((f) => [f.label, f.content])).toEqual([
      ['kb/a.TXT', 'alpha'],
      ['kb/b.md', '# B'],
      ['kb/sub/c.htm', '<h1>C</h1>'],
    ]);
    expect(r.files[0]?.path).toBe(path.join(dir, 'kb/a.TXT'));
    expect(r.skipped).toEqual(['kb/sub/logo.png']);
    expect(r.unreadable).toEqual([{ path: path.join(dir, 'kb/sub/bin.txt'), label: 'kb/sub/bin.txt', error: 'not a text file (binary content)' }]);
  });

  it('refuses a path that does not exist before reading anything', () => {
    expect(() => collectFiles(['kb', 'nope.md'], dir)).toThrow(new MissingPathError('No such file or directory: nope.md'));
  });

  it('maps extensions to content types case-insensitively', () => {
    expect(['x.md', 'x.markdown', 'x.txt', 'x.HTML', 'x.htm', 'x.pdf'].map(contentTypeOf)).toEqual([
      'markdown',
      'markdown',
      'text',
      'html',
      'html',
      undefined,
    ]);
  });
});
