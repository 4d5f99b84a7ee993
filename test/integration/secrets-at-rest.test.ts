import request from 'supertest';
import type { Express } from 'express';
import { runCommand } from '../../src/cli/commands';
import { createTestRuntime, type TestRuntime } from '../support/runtime';

/**
 * With tokens, secrets and keys configured every way the foundation allows (environment, CLI,
 * API), neither a dump of every table nor the logs contain any of them in plaintext.
 */
describe('secrets never at rest in plaintext, never in logs', () => {
  const ADMIN_API_KEY = `gw_live_${'A1b2C3d4'.repeat(5)}`;
  const ENV_TOKEN = 'EAAGenvAccessTokenZZ9x8y7';
  const ENV_APP_SECRET = 'envAppSecret0123456789abcdef';
  const ENV_VERIFY = 'envVerifyToken-42-xyz';
  const CLI_TOKEN = 'EAAGcliAccessTokenQQ1w2e3';
  const CLI_APP_SECRET = 'cliAppSecretfedcba9876543210';
  const CLI_VERIFY = 'cliVerifyToken-7-abc';
  let rt: TestRuntime;
  const minted: string[] = [];

  beforeAll(async () => {
    rt = await createTestRuntime({
      env: {
        WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
        WHATSAPP_WABA_ID: '102290129340398',
        WHATSAPP_ACCESS_TOKEN: ENV_TOKEN,
        WHATSAPP_APP_SECRET: ENV_APP_SECRET,
        WHATSAPP_VERIFY_TOKEN: ENV_VERIFY,
        ADMIN_API_KEY,
        LOG_LEVEL: 'trace',
      },
    });
    const app = rt.app as Express;
    const ws = (await runCommand(rt.services, 'workspace:create', { name: 'Secrets Inc' })).json as { id: string };
    await runCommand(rt.services, 'number:add', {
      workspace: ws.id,
      phoneNumberId: '200000000000001',
      wabaId: '300000000000001',
      accessToken: CLI_TOKEN,
      appSecret: CLI_APP_SECRET,
      verifyToken: CLI_VERIFY,
    });
    const cliKey = (await runCommand(rt.services, 'key:create', { workspace: ws.id, name: 'cli', scopes: 'keys:manage' }))
      .json as { key: string };
    minted.push(cliKey.key);
    const apiKey = await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .send({ name: 'crm', scopes: ['messages:send'] })
      .expect(201);
    minted.push(apiKey.body.key);
    // Requests that carry keys and tokens in every place a client might put them.
    await request(app).get('/v1/me').set('Authorization', `Bearer ${cliKey.key}`).expect(200);
    await request(app).get('/v1/me').set('Authorization', `Bearer ${apiKey.body.key}`).expect(200);
    await request(app).get('/v1/api-keys').set('Authorization', `Bearer ${apiKey.body.key}`).expect(403);
    await request(app).get('/v1/me').set('Authorization', `Bearer ${ADMIN_API_KEY}x`).expect(401);
    await request(app)
      .get(`/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${ENV_VERIFY}&hub.challenge=1`)
      .set('X-Hub-Signature-256', `sha256=${ENV_APP_SECRET}`)
      .set('Idempotency-Key', ENV_TOKEN);
    await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .send({ name: CLI_TOKEN.slice(0, 3), scopes: ['nope'], token: CLI_TOKEN, secret: CLI_APP_SECRET })
      .expect(400);
  });
  afterAll(async () => {
    await rt.teardown();
  });

  const secrets = () => [ADMIN_API_KEY, ENV_TOKEN, ENV_APP_SECRET, ENV_VERIFY, CLI_TOKEN, CLI_APP_SECRET, CLI_VERIFY, ...minted];

  it('no table holds any of them', async () => {
    const { rows: tables } = await rt.db.pool.query<{ tablename: string }>(
      "select tablename from pg_tables where schemaname = 'public'",
    );
    let dump = '';
    for (const { tablename } of tables) {
      const { rows } = await rt.db.pool.query(`select * from ${tablename}`);
      dump += JSON.stringify(rows);
    }
    expect(dump).toContain('106540352242922'); // the dump is real: the env number is there
    for (const s of secrets()) expect(dump).not.toContain(s);
  });

  it('the secrets are still usable by the gateway (sealed, not lost)', async () => {
    const n = await rt.services.tenancy.findNumberByPhoneNumberId('200000000000001');
    const creds = await rt.services.tenancy.credentials(n as { id: string; workspaceId: string });
    expect(creds).toEqual({ accessToken: CLI_TOKEN, appSecret: CLI_APP_SECRET, verifyToken: CLI_VERIFY });
  });

  it('no log line holds any of them', async () => {
    const text = rt.logs.text();
    expect(text).toContain('"request"'); // requests were logged
    for (const s of secrets()) expect(text).not.toContain(s);
  });
});
