import fs from 'node:fs';
import path from 'node:path';
import type { CreateDocument } from '../domain/knowledge/knowledge.schema';

/**
 * What `knowledge:import` reads from disk. This runs in the CLI process even when a running
 * gateway does the importing: the gateway may not share the CLI's working directory or files.
 */
export type ContentType = CreateDocument['content_type'];

const TYPES: Record<string, ContentType> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.html': 'html',
  '.htm': 'html',
};
export const IMPORTABLE_EXTENSIONS = Object.keys(TYPES);

export function contentTypeOf(file: string): ContentType | undefined {
  return TYPES[path.extname(file).toLowerCase()];
}

export interface ReadFile {
  /** Absolute path: the document's identity (source_url file://...). */
  path: string;
  /** How the user sees it: relative to the working directory when inside it. */
  label: string;
  content: string;
}

export interface CollectedFiles {
  files: ReadFile[];
  /** Files that could not be read (permissions, binary content). */
  unreadable: { path: string; label: string; error: string }[];
  /** Labels of files that are not .md/.markdown/.txt/.html/.htm. */
  skipped: string[];
}

export class MissingPathError extends Error {}

function labelOf(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/**
 * Expands files and folders (recursively, in name order) into the files to import. A named
 * path that does not exist throws before anything is read. Inside folders, hidden entries
 * (.git, .DS_Store) are passed over silently; a file named explicitly is always considered.
 */
export function collectFiles(paths: string[], cwd = process.cwd()): CollectedFiles {
  const roots = paths.map((p) => path.resolve(cwd, p));
  const missing = roots.filter((r) => !fs.existsSync(r));
  if (missing.length > 0) {
    throw new MissingPathError(`No such file or directory: ${missing.map((m) => labelOf(m, cwd)).join(', ')}`);
  }
  const found: string[] = [];
  const seenDirs = new Set<string>();
  const walk = (abs: string, named: boolean) => {
    const stat = fs.statSync(abs);
    if (stat.isDirectory()) {
      const real = fs.realpathSync(abs);
      if (seenDirs.has(real)) return; // a symlink loop or a folder named twice
      seenDirs.add(real);
      const entries = fs.readdirSync(abs).sort();
      for (const name of entries) if (!name.startsWith('.')) walk(path.join(abs, name), false);
    } else if (stat.isFile() || named) {
      found.push(abs);
    }
  };
  for (const root of roots) walk(root, true);

  const result: CollectedFiles = { files: [], unreadable: [], skipped: [] };
  for (const abs of [...new Set(found)]) {
    const label = labelOf(abs, cwd);
    if (!contentTypeOf(abs)) {
      result.skipped.push(label);
      continue;
    }
    try {
      const bytes = fs.readFileSync(abs);
      // Postgres text cannot hold NUL; a .txt full of them is not text anyway.
      if (bytes.includes(0)) result.unreadable.push({ path: abs, label, error: 'not a text file (binary content)' });
      else result.files.push({ path: abs, label, content: bytes.toString('utf8').replace(/^\uFEFF/, '') });
    } catch (e) {
      result.unreadable.push({ path: abs, label, error: (e as Error).message });
    }
  }
  return result;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function htmlText(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
      if (!e.startsWith('#')) return ENTITIES[e.toLowerCase()] ?? whole;
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
}

function markdownHeading(content: string): string | undefined {
  let fence: string | undefined;
  for (const line of content.split(/\r?\n/)) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f?.[1]) {
      if (fence === undefined) fence = f[1][0];
      else if (f[1][0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^\s{0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (h?.[1]) return h[1];
  }
  return undefined;
}

/** The first Markdown `# heading`, the HTML <title> or <h1>, else the file name without extension. */
export function titleOf(file: string, content: string, type: ContentType): string {
  let title: string | undefined;
  if (type === 'markdown') title = markdownHeading(content);
  else if (type === 'html') {
    title = [/<title[^>]*>([\s\S]*?)<\/title>/i, /<h1[^>]*>([\s\S]*?)<\/h1>/i]
      .map((re) => htmlText(re.exec(content)?.[1] ?? '').trim())
      .find(Boolean);
  }
  const clean = (title ?? '').replace(/\s+/g, ' ').trim();
  const name = path.basename(file, path.extname(file));
  return (clean || name).slice(0, 500);
}
