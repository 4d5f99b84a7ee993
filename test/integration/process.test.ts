import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { deleteRedisPrefix, REDIS_URL } from '../support/runtime';
import { runCli, startGateway, type Gateway } from '../support/processes';

/**
 * The whole process, as a newcomer runs it: `npm start` with no configuration on a fresh data
 * directory, then the CLI against it, then SIGTERM.
 */
describe('npm start + npm run cli (embedded database, real processes)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-proc-'));
  const prefix = `p${randomBytes(5).toString('hex')}`;
  const env = { DATA_DIR: dataDir, PORT: '0', QUEUE_PREFIX: prefix, REDIS_URL, HOST: '127.0.0.1' };
  let gw: Gateway;

  afterAll(async () => {
    if (gw && gw.child.exitCode === null) gw.child.kill('SIGKILL');
    await deleteRedisPrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) => {
    const r = await runCli(['--json', ...args], env);
    if (r.code !== 0) throw new Error(`cli ${args[0]} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('boots with no configuration: embedded database created, migrations applied, ready within 30 s', async () => {
    const started = Date.now();
    gw = await startGateway(env);
    let ready = false;
    while (!ready && Date.now() - started < 30_000) {
      const res = await fetch(`${gw.url}/readyz`).catch(() => undefined);
      ready = res?.status === 200;
      if (!ready) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'pglite'))).toBe(true);
    expect(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(gw.output()).toContain('database migrations applied');
  });

  it('CLI workspace:create, number:add, key:create give a key that works; key:revoke shuts it out within 1 s', async () => {
    const ws = await cli('workspace:create', '--name', 'Corner Coffee');
    expect(ws.id).toMatch(/^ws_/);
    const number = await cli(
      'number:add',
      '--workspace', String(ws.id),
      '--phone-number-id', '106540352242922',
      '--waba-id', '102290129340398',
      '--display-number', '+1 555 078 3881',
      '--access-token', 'EAAG-cli-token',
      '--app-secret', 'cli-app-secret',
      '--verify-token', 'cli-verify',
    );
    expect(number).toMatchObject({ object: 'phone_number', phone_number_id: '106540352242922', workspace_id: ws.id });
    expect(JSON.stringify(number)).not.toContain('EAAG-cli-token');
    const key = await cli('key:create', '--workspace', String(ws.id), '--name', 'crm', '--scopes', 'messages:send,keys:manage');
    expect(key.key).toMatch(/^gw_live_/);

    const me = await fetch(`${gw.url}/v1/me`, { headers: { Authorization: `Bearer ${String(key.key)}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { workspace: { id: string } }).workspace.id).toBe(ws.id);

    const list = await cli('key:list');
    expect((list.data as { id: string }[]).map((k) => k.id)).toContain(key.id);

    await cli('key:revoke', '--id', String(key.id));
    const revokedAt = Date.now();
    const after = await fetch(`${gw.url}/v1/me`, { headers: { Authorization: `Bearer ${String(key.key)}` } });
    expect(after.status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });

  it('CLI errors are clear and exit non-zero', async () => {
    const r = await runCli(['key:create', '--workspace', 'ws_nope', '--name', 'x', '--scopes', 'root'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--scopes/);
    const missing = await runCli(['key:create', '--workspace', 'ws_01jabcdefghjkmnpqrstvwxyz', '--name', 'x', '--scopes', 'usage:read'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No such workspace/);
  });

  it('SIGTERM stops it cleanly (exit 0) and frees the embedded database for the CLI', async () => {
    gw.child.kill('SIGTERM');
    expect(await gw.exit).toBe(0);
    expect(gw.output()).toContain('"outcome":"clean"');
    expect(fs.existsSync(path.join(dataDir, 'gateway.pid'))).toBe(false);
    // With no gateway running the CLI opens the database itself.
    const list = await cli('key:list');
    expect((list.data as { revoked_at: string | null }[]).some((k) => k.revoked_at !== null)).toBe(true);
  });

  it('a bad configuration stops the gateway with a message naming the variable, never its value', async () => {
    const failure = await startGateway({ ...env, ROLE: 'everything', ADMIN_API_KEY: 'gw_live_tooshort-secret' }).then(
      () => new Error('it started'),
      (e: Error) => e,
    );
    expect(failure.message).toMatch(/exited with 1[\s\S]*ROLE must be all, api or worker[\s\S]*ADMIN_API_KEY must be gw_live_/);
    expect(failure.message).not.toContain('tooshort-secret');
    await expect(startGateway({ ...env, NODE_ENV: 'production' })).rejects.toThrow(/MASTER_KEY is required when NODE_ENV=production/);
  });

  it('a bad configuration stops the CLI the same way', async () => {
    const r = await runCli(['workspace:list'], { ...env, PORT: 'not-a-port', MASTER_KEY: 'short-secret-value' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MASTER_KEY must be 32 bytes/);
    expect(r.stderr).not.toContain('short-secret-value');
  });
});
