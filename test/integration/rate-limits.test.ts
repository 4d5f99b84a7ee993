import type { Express } from 'express';
import request from 'supertest';
import { createRedisRateLimiter } from '../../src/adapters/redis/rate-limiter';
import { createRuntime } from '../../src/composition';
import { createTestRuntime, testConfig, type TestRuntime } from '../support/runtime';

/** Per-key rate limits in Redis (GCRA), their headers, and what does not count. */
describe('rate limits', () => {
  let rt: TestRuntime;
  let workspaceId: string;
  const app = () => rt.app as Express;
  const keyWith = async (scopes: string[]) =>
    (await rt.services.apiKeys.create({ workspaceId, name: 'rl', scopes: scopes as never, mode: 'live', source: 'cli' })).plaintext;

  beforeAll(async () => {
    rt = await createTestRuntime({ env: { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_SENDS_PER_MINUTE: '2' } });
    workspaceId = (await rt.services.tenancy.createWorkspace({ name: 'Limits' })).id;
  });
  afterAll(() => rt.teardown());

  it('lets a key make its allowance, then answers 429 with Retry-After, the envelope and the headers', async () => {
    const key = await keyWith(['messages:read']);
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).expect(200);
      expect(r.headers['ratelimit-policy']).toBe('5;w=60');
      expect(r.headers['x-ratelimit-limit']).toBe('5');
      remaining.push(r.headers['x-ratelimit-remaining'] as string);
      expect(r.headers.ratelimit).toMatch(/^limit=5, remaining=\d, reset=\d+$/);
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const refused = await request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).expect(429);
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited', policy: 'requests', limit: 5 });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(12);
    // Another key has its own allowance.
    await request(app()).get('/v1/me').set('Authorization', `Bearer ${await keyWith(['messages:read'])}`).expect(200);
  });

  it('does not count 401 and 403 answers', async () => {
    const key = await keyWith(['messages:read']);
    for (let i = 0; i < 8; i++) await request(app()).get('/v1/templates').set('Authorization', `Bearer ${key}`).expect(403);
    for (let i = 0; i < 8; i++) await request(app()).get('/v1/me').set('Authorization', 'Bearer gw_live_nope').expect(401);
    await new Promise((r) => setTimeout(r, 50)); // refunds happen as the 403s finish
    for (let i = 0; i < 5; i++) await request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).expect(200);
    await request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).expect(429);
  });

  it('limits sends separately, within the request allowance', async () => {
    const key = await keyWith(['messages:send', 'messages:read']);
    // No number in this workspace: each send is a 400, but it was a send all the same.
    for (let i = 0; i < 2; i++) await request(app()).post('/v1/messages').set('Authorization', `Bearer ${key}`).send({ to: '+15550001111', type: 'text', text: { body: 'hi' } }).expect(400);
    const refused = await request(app()).post('/v1/messages').set('Authorization', `Bearer ${key}`).send({ to: '+15550001111', type: 'text', text: { body: 'hi' } }).expect(429);
    expect(refused.body.error).toMatchObject({ policy: 'sends', limit: 2 });
    expect(refused.headers['ratelimit-policy']).toBe('5;w=60, 2;w=60');
    // The refused send gave back its request: reads still have 5 - 2 = 3.
    for (let i = 0; i < 3; i++) await request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).expect(200);
    await request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).expect(429);
  });

  it('is atomic under concurrency: 20 requests at once, exactly 5 pass', async () => {
    const key = await keyWith(['messages:read']);
    const codes = await Promise.all(Array.from({ length: 20 }, () => request(app()).get('/v1/me').set('Authorization', `Bearer ${key}`).then((r) => r.status)));
    expect(codes.filter((c) => c === 200)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
  });

  it('counts exactly across two API processes sharing Redis: 50 concurrent clients, the (limit+1)th gets 429', async () => {
    const second = await createRuntime(testConfig({ QUEUE_PREFIX: rt.config.queuePrefix, RATE_LIMIT_PER_MINUTE: '5' }), rt.logger, {
      redis: true,
      http: true,
      workers: false,
      database: rt.testDb,
      migrate: false,
    });
    try {
      const key = await keyWith(['messages:read']);
      const apps = [app(), second.app as Express];
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) => request(apps[i % 2] as Express).get('/v1/me').set('Authorization', `Bearer ${key}`)),
      );
      expect(responses.filter((r) => r.status === 200)).toHaveLength(5);
      const refused = responses.filter((r) => r.status === 429);
      expect(refused).toHaveLength(45);
      expect(refused.every((r) => Number(r.headers['retry-after']) >= 1 && r.body.error.code === 'rate_limited')).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('refills evenly (GCRA): one request per interval after the burst', async () => {
    const limiter = createRedisRateLimiter({ redis: rt.redis as never, prefix: rt.config.queuePrefix });
    const policy = { name: 'unit', limit: 4, windowMs: 800 };
    const results: boolean[] = [];
    for (let i = 0; i < 5; i++) results.push((await limiter.take('k1', policy)).allowed);
    expect(results).toEqual([true, true, true, true, false]);
    const refused = await limiter.take('k1', policy);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(200);
    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 30));
    expect((await limiter.take('k1', policy)).allowed).toBe(true);
    expect((await limiter.take('k1', policy)).allowed).toBe(false);
    await limiter.refund('k1', policy);
    expect((await limiter.take('k1', policy)).allowed).toBe(true);
  });
});
