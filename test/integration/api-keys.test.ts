import request from 'supertest';
import type { Express } from 'express';
import { createTestRuntime, type TestRuntime } from '../support/runtime';
import { SCOPES } from '../../src/domain/keys/scopes';

describe('API keys', () => {
  let rt: TestRuntime;
  let app: Express;
  let admin: string; // every scope, workspace A
  let other: string; // every scope, workspace B
  let wsA: string;

  beforeAll(async () => {
    rt = await createTestRuntime();
    app = rt.app as Express;
    const a = await rt.services.tenancy.createWorkspace({ name: 'Alpha Coffee' });
    const b = await rt.services.tenancy.createWorkspace({ name: 'Beta Books' });
    wsA = a.id;
    admin = (await rt.services.apiKeys.create({ workspaceId: a.id, name: 'admin', scopes: [...SCOPES], mode: 'live', source: 'cli' }))
      .plaintext;
    other = (await rt.services.apiKeys.create({ workspaceId: b.id, name: 'admin', scopes: [...SCOPES], mode: 'live', source: 'cli' }))
      .plaintext;
  });
  afterAll(async () => {
    await rt.teardown();
  });

  const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

  it('GET /v1/me tells the workspace and the key, never the key itself', async () => {
    const res = await request(app).get('/v1/me').set(auth(admin)).expect(200);
    expect(res.body).toMatchObject({
      object: 'me',
      workspace: { object: 'workspace', id: wsA, name: 'Alpha Coffee' },
      api_key: { object: 'api_key', mode: 'live', redacted_key: `gw_live_...${admin.slice(-4)}` },
    });
    expect(JSON.stringify(res.body)).not.toContain(admin);
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });

  it.each([
    ['no header', undefined],
    ['not bearer', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['malformed key', 'Bearer gw_live_short'],
    ['unknown key', `Bearer gw_live_${'x'.repeat(32)}`],
    ['empty bearer', 'Bearer '],
  ])('401 with the same envelope for %s', async (_label, header) => {
    const req = request(app).get('/v1/me');
    if (header !== undefined) req.set('Authorization', header);
    const res = await req.expect(401);
    expect(res.body.error).toEqual({
      type: 'authentication_error',
      code: 'invalid_api_key',
      message: expect.stringContaining('valid API key'),
      request_id: expect.any(String),
    });
  });

  it('creates a key shown once, lists it redacted, and revokes it within a second', async () => {
    const created = await request(app)
      .post('/v1/api-keys')
      .set(auth(admin))
      .send({ name: 'crm', scopes: ['messages:send', 'messages:read'] })
      .expect(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^gw_live_[A-Za-z0-9_-]{32}$/);
    expect(created.body).toMatchObject({ object: 'api_key', name: 'crm', mode: 'live', revoked_at: null });

    await request(app).get('/v1/me').set(auth(key)).expect(200);
    const list = await request(app).get('/v1/api-keys').set(auth(admin)).expect(200);
    expect(list.body.object).toBe('list');
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);

    // The key lacks keys:manage.
    const forbidden = await request(app).get('/v1/api-keys').set(auth(key)).expect(403);
    expect(forbidden.body.error).toMatchObject({ type: 'permission_error', code: 'missing_scope', required_scope: 'keys:manage' });

    const revoked = await request(app).delete(`/v1/api-keys/${created.body.id}`).set(auth(admin)).expect(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    const started = Date.now();
    await request(app).get('/v1/me').set(auth(key)).expect(401);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses to mint keys beyond its own powers', async () => {
    const limited = await request(app)
      .post('/v1/api-keys')
      .set(auth(admin))
      .send({ name: 'key admin', scopes: ['keys:manage'], mode: 'test' })
      .expect(201);
    const res = await request(app)
      .post('/v1/api-keys')
      .set(auth(limited.body.key))
      .send({ name: 'escalate', scopes: ['keys:manage', 'messages:send'] })
      .expect(403);
    expect(res.body.error).toMatchObject({ code: 'scope_escalation', param: 'scopes' });
    const live = await request(app)
      .post('/v1/api-keys')
      .set(auth(limited.body.key))
      .send({ name: 'live', scopes: ['keys:manage'], mode: 'live' })
      .expect(403);
    expect(live.body.error.code).toBe('mode_escalation');
    // Without mode, a test key creates a test key.
    const minted = await request(app)
      .post('/v1/api-keys')
      .set(auth(limited.body.key))
      .send({ name: 'child', scopes: ['keys:manage'] })
      .expect(201);
    expect(minted.body.key).toMatch(/^gw_test_/);
  });

  it('answers 404 for another workspace\'s key, and never revokes it', async () => {
    const theirs = await request(app).post('/v1/api-keys').set(auth(other)).send({ name: 'theirs', scopes: ['usage:read'] }).expect(201);
    const get = await request(app).get(`/v1/api-keys/${theirs.body.id}`).set(auth(admin)).expect(404);
    expect(get.body.error).toMatchObject({ type: 'not_found_error', code: 'resource_missing' });
    await request(app).delete(`/v1/api-keys/${theirs.body.id}`).set(auth(admin)).expect(404);
    await request(app).get('/v1/me').set(auth(theirs.body.key)).expect(200);
  });

  it('an expired key is refused', async () => {
    const { record, plaintext } = await rt.services.apiKeys.create({
      workspaceId: wsA,
      name: 'short-lived',
      scopes: ['usage:read'],
      mode: 'live',
      source: 'api',
      expiresAt: new Date(Date.now() + 300),
    });
    await request(app).get('/v1/me').set(auth(plaintext)).expect(200);
    await new Promise((r) => setTimeout(r, 400));
    await request(app).get('/v1/me').set(auth(plaintext)).expect(401);
    expect(record.expiresAt).not.toBeNull();
  });

  it('paginates with limit and starting_after', async () => {
    for (let i = 0; i < 5; i++) {
      await request(app).post('/v1/api-keys').set(auth(admin)).send({ name: `page ${i}`, scopes: ['usage:read'] }).expect(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(app)
        .get('/v1/api-keys')
        .query(cursor ? { limit: 2, starting_after: cursor } : { limit: 2 })
        .set(auth(admin))
        .expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((k: { id: string }) => k.id));
      cursor = res.body.has_more ? res.body.next_cursor : null;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort().reverse());
    const all = await request(app).get('/v1/api-keys').query({ limit: 200 }).set(auth(admin)).expect(200);
    expect(seen).toEqual(all.body.data.map((k: { id: string }) => k.id));
  });

  it.each([
    [{ scopes: ['usage:read'] }, 'name'],
    [{ name: 'x', scopes: [] }, 'scopes'],
    [{ name: 'x', scopes: ['root:all'] }, 'scopes.0'],
    [{ name: 'x', scopes: ['usage:read'], mode: 'prod' }, 'mode'],
    [{ name: 'x', scopes: ['usage:read'], expires_at: 'tomorrow' }, 'expires_at'],
    [{ name: 'x', scopes: ['usage:read'], expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
    [{ name: 'x', scopes: ['usage:read'], workspace_id: 'ws_other' }, 'workspace_id'],
    [{ name: 'x'.repeat(201), scopes: ['usage:read'] }, 'name'],
  ])('POST /v1/api-keys %j: 400 naming %s', async (body, param) => {
    const res = await request(app).post('/v1/api-keys').set(auth(admin)).send(body).expect(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
  });

  it.each([
    ['limit=0', { limit: '0' }],
    ['limit=201', { limit: '201' }],
    ['limit=abc', { limit: 'abc' }],
  ])('GET /v1/api-keys?%s: 400', async (_l, query) => {
    const res = await request(app).get('/v1/api-keys').query(query).set(auth(admin)).expect(400);
    expect(res.body.error.param).toBe('limit');
  });
});
