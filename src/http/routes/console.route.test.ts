import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { CONSOLE_CSP, consoleRoutes, findConsoleDir } from './console.route';

const app = express();
app.use(consoleRoutes());
app.use((_req, res) => {
  res.status(404).json({ error: { code: 'not_found' } });
});

const consoleDir = findConsoleDir();

describe('GET /console', () => {
  it('serves the page with a strict CSP, no caching and nosniff', async () => {
    const res = await request(app).get('/console').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toContain('<title>Agent console</title>');
    await request(app).get('/console/').expect(200).expect('content-type', /text\/html/);
  });

  it('serves the stylesheet and every module the page imports, each with its content type', async () => {
    const css = await request(app).get('/console/console.css').expect(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    // Browsers refuse module scripts with any other MIME type (nosniff is on).
    const seen = new Set<string>();
    const queue = ['console.js'];
    while (queue.length) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const res = await request(app).get(`/console/${name}`).expect(200);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      for (const m of res.text.matchAll(/from '\.\/([a-z-]+\.js)'/g)) queue.push(m[1] as string);
    }
    expect([...seen].sort()).toEqual(['api.js', 'console.js', 'conversation.js', 'dom.js', 'format.js', 'list.js', 'sse.js', 'store.js', 'views.js']);
  });

  it('has no inline script or style and loads nothing from another origin', () => {
    const html = fs.readFileSync(path.join(consoleDir, 'index.html'), 'utf8');
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="\/console\/[a-z-]+\.js"/);
    expect(html).not.toMatch(/<style\b|\sstyle="|\son[a-z]+="/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('never builds markup from strings in the browser code', () => {
    for (const file of fs.readdirSync(consoleDir).filter((f) => f.endsWith('.js'))) {
      const code = fs.readFileSync(path.join(consoleDir, file), 'utf8');
      expect({ file, unsafe: /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/.test(code) }).toEqual({ file, unsafe: false });
    }
  });

  it('answers 404 for unknown files, other extensions and paths that leave the directory', async () => {
    await request(app).get('/console/nope.js').expect(404);
    await request(app).get('/console/..%2Fconsole.route.ts').expect(404);
    await request(app).get('/console/%2e%2e%2f%2e%2e%2fapp.ts').expect(404);
    await request(app).get('/console/.env').expect(404);
    await request(app).get('/console/index.html/x').expect(404);
  });

  it('finds the assets from the compiled output (dist/src/http/routes) and from the working directory', () => {
    const root = path.resolve(consoleDir, '..', '..', '..');
    expect(findConsoleDir(path.join(root, 'dist', 'src', 'http', 'routes'))).toBe(consoleDir);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'console-dir-'));
    try {
      expect(findConsoleDir(elsewhere, root)).toBe(consoleDir);
      expect(() => findConsoleDir(elsewhere, elsewhere)).toThrow(/src\/http\/console/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
