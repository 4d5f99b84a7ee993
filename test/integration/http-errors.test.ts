import request from 'supertest';
import type { Express } from 'express';
import { createTestRuntime, type TestRuntime } from '../support/runtime';

describe('bad input never produces a 500', () => {
  let rt: TestRuntime;
  let app: Express;
  let key: string;

  beforeAll(async () => {
    rt = await createTestRuntime();
    app = rt.app as Express;
    const ws = await rt.services.tenancy.createWorkspace({ name: 'W' });
    key = (await rt.services.apiKeys.create({ workspaceId: ws.id, name: 'k', scopes: ['keys:manage'], mode: 'live', source: 'cli' }))
      .plaintext;
  });
  afterAll(async () => {
    await rt.teardown();
  });

  const envelope = (res: request.Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ code, message: expect.any(String), request_id: expect.any(String) });
    expect(res.headers['content-type']).toMatch(/application\/json/);
  };

  it('malformed JSON: 400 invalid_json', async () => {
    const res = await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .send('{"name": "x",');
    envelope(res, 400, 'invalid_json');
  });

  it('a JSON scalar where an object is expected: 400 naming the body', async () => {
    const res = await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .send('"just a string"');
    expect(res.status).toBe(400);
  });

  it('wrong content type: 415', async () => {
    const res = await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'text/plain')
      .send('name=x');
    envelope(res, 415, 'unsupported_media_type');
  });

  it('a body over 1 MB: 413', async () => {
    const res = await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(1_100_000), scopes: ['keys:manage'] }));
    envelope(res, 413, 'payload_too_large');
  });

  it('10,000-deep JSON: a 4xx, fast', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const started = Date.now();
    const res = await request(app)
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .send(deep);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('unknown routes: 404 route_not_found, with or without a key', async () => {
    envelope(await request(app).get('/nope'), 404, 'route_not_found');
    envelope(await request(app).get('/v1/nope').set('Authorization', `Bearer ${key}`), 404, 'route_not_found');
    envelope(await request(app).put('/v1/api-keys').set('Authorization', `Bearer ${key}`), 404, 'route_not_found');
  });

  it.each([
    'key_nope',
    'ws_01jabcdefghjkmnpqrstvwxyz0',
    'key_01JABCDEFGHJKMNPQRSTVWXYZ0',
    `key_${'0'.repeat(500)}`,
    "key_'; drop table api_keys; --",
    '%E0%A4%A',
    '%00',
  ])('bad id %s: 4xx envelope', async (id) => {
    const res = await request(app).get(`/v1/api-keys/${id}`).set('Authorization', `Bearer ${key}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.request_id).toEqual(expect.any(String));
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const ok = await request(app).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(ok.headers['x-request-id']).toBe('abc-123');
    const bad = await request(app).get('/healthz').set('X-Request-Id', 'x'.repeat(300));
    expect(bad.headers['x-request-id']).toMatch(/^req_/);
  });

  it('an unexpected failure is a 500 internal_error with a request id, and the stack stays in the log', async () => {
    const { pool } = rt.db;
    const original = pool.query.bind(pool);
    // Make the key lookup fail the way a broken database would.
    pool.query = (() => Promise.reject(new Error('boom: connection reset'))) as unknown as typeof pool.query;
    try {
      const res = await request(app).get('/v1/me').set('Authorization', `Bearer ${key}`);
      expect(res.status).toBe(500);
      expect(res.body.error).toMatchObject({ type: 'api_error', code: 'internal_error' });
      expect(JSON.stringify(res.body)).not.toContain('boom');
      expect(rt.logs.text()).toContain('boom: connection reset');
    } finally {
      pool.query = original;
    }
  });
});
