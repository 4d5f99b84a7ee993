import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDatabase } from '../../src/adapters/postgres/database';
import { childEnv, ROOT, startGateway } from '../support/processes';
import { deleteRedisPrefix, REDIS_URL } from '../support/runtime';

/**
 * `npm run cli -- knowledge:import` and `knowledge:reindex` as a person runs them: real CLI
 * processes on a fresh data directory (embedded database, no gateway, no Redis), the files on
 * disk, and the database read afterwards to see what a customer's question would find.
 */
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI_TIMEOUT_MS = 45_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; a hung process is killed rather than left to the test timeout. */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: CLI_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run cli -- knowledge:import / knowledge:reindex (embedded database, real processes)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-kb-'));
  const dataDir = path.join(root, 'data');
  const kb = path.join(root, 'kb');
  const env = { DATA_DIR: dataDir, MASTER_KEY: randomBytes(32).toString('hex') };
  let workspaceId = '';

  const json = async (args: string[]) => {
    const r = await cli(['--json', ...args], env);
    if (r.code !== 0) throw new Error(`cli ${args[0]} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  /** What the knowledge base holds, read from the embedded database once the CLI has exited. */
  const documents = async () => {
    const db = await createDatabase({ dataDir: path.join(dataDir, 'pglite') });
    try {
      const { rows } = await db.pool.query<{
        title: string;
        content_type: string;
        source_url: string;
        status: string;
        version: number;
        indexed_version: number | null;
        chunk_count: number;
        chunks: number;
        tags: string[];
      }>(
        `select d.title, d.content_type, d.source_url, d.status, d.version, d.indexed_version, d.chunk_count, d.tags,
                (select count(*)::int from knowledge_chunks c where c.document_id = d.id and c.document_version = d.version) as chunks
           from knowledge_documents d order by d.source_url`,
      );
      return rows;
    } finally {
      await db.close();
    }
  };

  beforeAll(() => {
    fs.mkdirSync(path.join(kb, 'policies'), { recursive: true });
    fs.writeFileSync(path.join(kb, 'hours.md'), '# Opening hours\n\nWe open at 7am and close at 6pm, every day of the week.\n');
    fs.writeFileSync(path.join(kb, 'policies', 'refunds.txt'), 'Refunds are accepted within 30 days with the receipt.\n');
    fs.writeFileSync(
      path.join(kb, 'policies', 'delivery.html'),
      '<html><head><title>Delivery &amp; pickup</title></head><body><h1>Delivery</h1><p>We deliver within 5 km for free.</p></body></html>',
    );
    fs.writeFileSync(path.join(kb, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('imports a folder: .md, .txt and .html become indexed documents, the .png is skipped and named', async () => {
    const ws = await json(['workspace:create', '--name', 'Corner Coffee']);
    workspaceId = String(ws.id);

    const r = await cli(['knowledge:import', kb, '--tags', 'faq, imported', '--json'], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      workspace_id: string;
      files: { path: string; outcome: string; title: string; content_type: string; chunks: number }[];
      skipped_files: string[];
    } & Record<string, unknown>;
    expect(out).toMatchObject({ object: 'knowledge_import', workspace_id: workspaceId, created: 3, updated: 0, unchanged: 0, skipped: 1, failed: 0 });
    expect(out.files.map((f) => [path.relative(kb, f.path), f.outcome, f.title, f.content_type])).toEqual([
      ['hours.md', 'created', 'Opening hours', 'markdown'],
      ['policies/delivery.html', 'created', 'Delivery & pickup', 'html'],
      ['policies/refunds.txt', 'created', 'refunds', 'text'],
    ]);
    expect(out.files.every((f) => f.chunks > 0)).toBe(true);
    expect(out.chunks_indexed).toBe(out.files.reduce((n, f) => n + f.chunks, 0));
    expect(out.skipped_files).toEqual([path.join(kb, 'logo.png')]);
    // Without a terminal, progress is one line per file on stderr; stdout stays pure JSON.
    expect(r.stderr).toMatch(/created +\S*hours\.md → doc_\w+ \(\d+ chunks?\)/);

    const docs = await documents();
    expect(docs).toHaveLength(3);
    for (const d of docs) {
      expect(d.source_url).toMatch(new RegExp(`^file://${kb}/`));
      expect(d).toMatchObject({ status: 'ready', indexed_version: d.version, tags: ['faq', 'imported'] });
      expect(d.chunks).toBeGreaterThan(0);
      expect(d.chunk_count).toBe(d.chunks);
    }
  });

  it('re-importing the same files changes nothing; changing one updates and re-indexes only that one', async () => {
    const again = await cli(['knowledge:import', kb], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('created 0, updated 0, unchanged 3, skipped 1, failed 0; 0 chunks indexed.');
    expect(again.stdout).toMatch(/Skipped[^\n]*\n\s+\S*logo\.png/);
    const before = await documents();

    fs.writeFileSync(path.join(kb, 'policies', 'refunds.txt'), 'Refunds are accepted within 60 days, receipt or not.\n');
    const changed = await cli(['knowledge:import', kb], env);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/created 0, updated 1, unchanged 2, skipped 1, failed 0; [1-9]\d* chunks? indexed\./);

    const after = await documents();
    expect(after).toHaveLength(3);
    const refunds = after.find((d) => d.source_url.endsWith('/refunds.txt'));
    const refundsBefore = before.find((d) => d.source_url.endsWith('/refunds.txt'));
    expect(refunds).toMatchObject({ status: 'ready', version: (refundsBefore?.version ?? 0) + 1, tags: ['faq', 'imported'] });
    expect(refunds?.chunks).toBeGreaterThan(0);
    expect(after.filter((d) => d !== refunds).map((d) => d.version)).toEqual(before.filter((d) => d !== refundsBefore).map((d) => d.version));
  });

  it('knowledge:reindex re-embeds every document in place', async () => {
    const before = await documents();
    const out = await json(['knowledge:reindex', '--workspace', workspaceId]);
    expect(out).toMatchObject({ object: 'knowledge_reindex', workspace_id: workspaceId, documents: 3, reindexed: 3, failed: 0 });
    expect(out.chunks_indexed).toBeGreaterThanOrEqual(3);

    const after = await documents();
    expect(after.map((d) => [d.status, d.version, d.indexed_version])).toEqual(before.map((d) => ['ready', d.version + 1, d.version + 1]));
    expect(after.every((d) => d.chunks > 0)).toBe(true);

    // Everything already uses the current model.
    const none = await cli(['knowledge:reindex', '--only-other-model'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/No documents to reindex/);
  });

  it('a path that does not exist stops the import before anything is written, with exit code 1', async () => {
    const r = await cli(['knowledge:import', kb, path.join(root, 'no-such-folder')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No such file or directory: ${path.join(root, 'no-such-folder')}`);
    expect(r.stdout).toBe('');
  });

  it('a file that cannot become a document fails with its reason and exit code 1; the others are imported', async () => {
    const more = path.join(root, 'more');
    fs.mkdirSync(more);
    fs.writeFileSync(path.join(more, 'blank.md'), '   \n\n');
    fs.writeFileSync(path.join(more, 'wifi.txt'), 'The wifi password is on the receipt.\n');
    const r = await cli(['knowledge:import', more], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('created 1, updated 0, unchanged 0, skipped 0, failed 1;');
    expect(r.stdout).toMatch(/Failed:\n\s+\S*blank\.md: content must not be blank/);
    expect((await documents()).map((d) => path.basename(d.source_url)).sort()).toEqual(['delivery.html', 'hours.md', 'refunds.txt', 'wifi.txt']);
  });

  it('without --workspace and with several workspaces, it asks for one and lists them', async () => {
    const second = await json(['workspace:create', '--name', 'Second Shop']);
    const r = await cli(['knowledge:import', kb], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/choose one with --workspace/);
    expect(r.stderr).toContain(workspaceId);
    expect(r.stderr).toContain(String(second.id));
  });

  it('while a gateway owns the database, the CLI reads the files and the gateway imports them', async () => {
    const prefix = `k${randomBytes(5).toString('hex')}`;
    const gw = await startGateway({ ...env, PORT: '0', HOST: '127.0.0.1', QUEUE_PREFIX: prefix, REDIS_URL });
    try {
      fs.writeFileSync(path.join(kb, 'hours.md'), '# Opening hours\n\nWe now open at 6am on weekdays.\n');
      const r = await cli(['knowledge:import', kb, '--workspace', workspaceId], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/created 0, updated 1, unchanged 2, skipped 1, failed 0; [1-9]\d* chunks? indexed\./);
      // No progress bar from inside the gateway: the per-file results come once it is done.
      expect(r.stderr).toMatch(/running gateway \(pid \d+\)[\s\S]*updated +\S*hours\.md → doc_\w+ \(\d+ chunks?\)/);
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exit;
      await deleteRedisPrefix(prefix);
    }
    const hours = (await documents()).find((d) => d.source_url.endsWith('/hours.md'));
    expect(hours).toMatchObject({ status: 'ready', indexed_version: hours?.version });
  });
});
