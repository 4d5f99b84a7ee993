import fs from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';

/**
 * The human agents' console: static HTML, CSS and browser JS modules under src/http/console, served
 * at /console. The page talks only to the public API (/v1) with the key the agent pastes, so this
 * route needs no dependencies and no authentication of its own.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** No inline script or style, nothing from another origin, no framing; the page only calls this origin's API. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

/**
 * `tsc` copies only .ts output to dist, so the assets are looked up in the source tree: the
 * directory beside this file when running from src (tsx, ts-jest), else src/http/console in a
 * directory above it (dist/src/http/routes -> <root>/src/http/console), else under the working
 * directory.
 */
export function findConsoleDir(from: string = __dirname, cwd: string = process.cwd()): string {
  const hasIndex = (dir: string) => fs.existsSync(path.join(dir, 'index.html'));
  const beside = path.resolve(from, '..', 'console');
  if (hasIndex(beside)) return beside;
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'src', 'http', 'console');
    if (hasIndex(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  const fromCwd = path.resolve(cwd, 'src', 'http', 'console');
  if (hasIndex(fromCwd)) return fromCwd;
  throw new Error(`the console's assets (src/http/console) were not found above ${from} nor in ${cwd}`);
}

function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
}

export function consoleRoutes(opts: { dir?: string } = {}): Router {
  const dir = opts.dir ?? findConsoleDir();
  const router = Router();

  const send = async (res: Response, name: string): Promise<boolean> => {
    // Only plain file names directly in the directory: no traversal, no dotfiles.
    if (!ASSET_NAME.test(name)) return false;
    let body: Buffer;
    try {
      body = await fs.promises.readFile(path.join(dir, name));
    } catch {
      return false;
    }
    securityHeaders(res);
    res.type(CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream').send(body);
    return true;
  };

  router.get(['/console', '/console/'], async (_req, res) => {
    await send(res, 'index.html');
  });
  router.get('/console/:asset', async (req, res, next) => {
    if (!(await send(res, req.params.asset))) next();
  });
  return router;
}
