import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deleteRedisPrefix, REDIS_URL } from '../support/runtime';
import { ROOT, startCompiledGateway, type Gateway } from '../support/processes';

/**
 * The image cannot be built here (no registry access for docker), so its runtime stage is laid
 * out instead: a directory holding exactly what the Dockerfile's runtime stage copies (dist/
 * compiled by the build stage's command, node_modules, and each COPY from the build context),
 * run with the stage's ENV and CMD. What the compiled code reads at run time (migrations, the
 * console's and the sandbox's static files) must be in it: a file the Dockerfile forgets makes
 * the gateway fail to start here as it would in the image.
 */
const run = promisify(execFile);

interface RuntimeStage {
  env: Record<string, string>;
  copies: { from: string | undefined; sources: string[]; target: string }[];
  cmd: string[];
}

function runtimeStage(dockerfile: string): RuntimeStage {
  // Continuation lines joined, comments dropped.
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const start = lines.findIndex((l) => /^FROM \S+ AS runtime$/.test(l));
  if (start < 0) throw new Error('the Dockerfile has no stage named runtime');
  const stage: RuntimeStage = { env: {}, copies: [], cmd: [] };
  for (const line of lines.slice(start + 1)) {
    const [instruction, ...rest] = line.split(/\s+/);
    if (instruction === 'ENV') {
      for (const pair of rest) {
        const [k, v] = pair.split('=');
        if (k && v !== undefined) stage.env[k] = v;
      }
    } else if (instruction === 'COPY') {
      const from = rest[0]?.startsWith('--from=') ? (rest.shift() as string).slice('--from='.length) : undefined;
      const target = rest.pop() as string;
      stage.copies.push({ from, sources: rest, target });
    } else if (instruction === 'CMD') {
      stage.cmd = JSON.parse(line.slice('CMD'.length)) as string[];
    }
  }
  return stage;
}

describe('the image runtime stage, laid out from the Dockerfile', () => {
  const stage = runtimeStage(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const image = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-image-'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-image-data-'));
  const prefix = `img${randomBytes(4).toString('hex')}`;
  let gw: Gateway | undefined;

  afterAll(async () => {
    if (gw && gw.child.exitCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exit;
    }
    await deleteRedisPrefix(prefix);
    fs.rmSync(image, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads the stage: production ENV, node dist/src/main.js, and copies this test knows how to lay out', () => {
    expect(stage.env.NODE_ENV).toBe('production');
    expect(stage.cmd).toEqual(['node', 'dist/src/main.js']);
    for (const c of stage.copies) {
      if (c.from === 'build') expect(c).toEqual({ from: 'build', sources: ['/app/dist'], target: './dist' });
      else if (c.from === 'prod-deps') expect(c).toEqual({ from: 'prod-deps', sources: ['/app/node_modules'], target: './node_modules' });
      else expect(c.from).toBeUndefined();
    }
  });

  it('starts as the image would (ROLE=all), serves /readyz on both ports, the console, the sandbox page and the API reference', async () => {
    for (const c of stage.copies) {
      if (c.from === 'build') {
        // The build stage's `npm run build`, into the image's dist/.
        await run(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(image, 'dist')], { cwd: ROOT });
      } else if (c.from === 'prod-deps') {
        // The installed dependencies (a superset of the image's: dev ones are here too).
        fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(image, 'node_modules'), 'dir');
      } else {
        for (const source of c.sources) {
          const into = c.target.endsWith('/') ? path.join(image, c.target, path.basename(source)) : path.join(image, c.target);
          fs.cpSync(path.join(ROOT, source), into, { recursive: true });
        }
      }
    }

    gw = await startCompiledGateway(
      image,
      {
        ...stage.env,
        // Here: loopback only, any free port, a scratch data directory, the test Redis.
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dataDir,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        MASTER_KEY: randomBytes(32).toString('hex'),
        // Every role's code in one process (the embedded database serves one process only), and
        // the internal metrics listener a worker's HEALTHCHECK probes.
        ROLE: 'all',
        METRICS_PORT: '0',
      },
      60_000,
    );
    const get = (p: string) => fetch(`${gw?.url}${p}`);
    let ready = 0;
    for (let i = 0; i < 150 && ready !== 200; i++) {
      ready = (await get('/readyz').catch(() => undefined))?.status ?? 0;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready).toBe(200);
    for (const page of ['/console', '/sandbox', '/docs/']) {
      const res = await get(page);
      expect({ page, status: res.status, type: res.headers.get('content-type') }).toEqual({ page, status: 200, type: expect.stringMatching(/^text\/html/) });
    }
    expect((await get('/sandbox/sandbox.css')).status).toBe(200);
    const metricsPort = /metrics listening on http:\/\/localhost:(\d+)/.exec(gw.output())?.[1];
    expect(metricsPort).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    expect(gw.output()).toContain('workers running');
  }, 180_000);

  it('stops on SIGTERM with exit code 0 (node is PID 1 in the image and handles it itself)', async () => {
    expect(gw).toBeDefined();
    gw?.child.kill('SIGTERM');
    expect(await gw?.exit).toBe(0);
  }, 60_000);
});
