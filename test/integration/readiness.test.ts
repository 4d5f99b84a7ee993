import request from 'supertest';
import type { Express } from 'express';
import { createDatabase } from '../../src/adapters/postgres/database';
import { createRuntime } from '../../src/composition';
import { captureLogs } from '../support/logs';
import { createTestRuntime, testConfig } from '../support/runtime';
import { createTestDatabase } from '../support/database';

describe('GET /healthz and /readyz', () => {
  it('are 200 when the database, Redis and migrations are fine', async () => {
    const rt = await createTestRuntime();
    try {
      await request(rt.app as Express).get('/healthz').expect(200, { status: 'ok' });
      const res = await request(rt.app as Express).get('/readyz').expect(200);
      expect(res.body).toEqual({
        status: 'ready',
        checks: { database: { ok: true }, redis: { ok: true }, migrations: { ok: true } },
      });
    } finally {
      await rt.teardown();
    }
  });

  it('turn 503 naming Redis when Redis is unreachable', async () => {
    const db = await createTestDatabase();
    const rt = await createRuntime(testConfig({ REDIS_URL: 'redis://127.0.0.1:1' }), captureLogs().logger, {
      redis: true,
      http: true,
      workers: false,
      database: db,
    });
    try {
      const started = Date.now();
      const res = await request(rt.app as Express).get('/readyz').expect(503);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body.status).toBe('unavailable');
      expect(res.body.checks.redis).toMatchObject({ ok: false, error: expect.any(String) });
      expect(res.body.checks.database).toEqual({ ok: true });
      // Liveness is not readiness: the process is alive.
      await request(rt.app as Express).get('/healthz').expect(200);
    } finally {
      await rt.close();
      await db.close();
    }
  });

  it('turn 503 naming the database when it is unreachable', async () => {
    const dead = await createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' });
    const rt = await createRuntime(testConfig(), captureLogs().logger, {
      redis: true,
      http: true,
      workers: false,
      database: dead,
      migrate: false,
    });
    try {
      const started = Date.now();
      const res = await request(rt.app as Express).get('/readyz').expect(503);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body.checks.database).toMatchObject({ ok: false, error: expect.any(String) });
      expect(res.body.checks.migrations.ok).toBe(false);
      expect(res.body.checks.redis).toEqual({ ok: true });
    } finally {
      await rt.close();
      await dead.close();
    }
  });

  it('turn 503 while migrations are pending', async () => {
    const db = await createTestDatabase();
    const rt = await createRuntime(testConfig(), captureLogs().logger, {
      redis: false,
      http: true,
      workers: false,
      database: db,
      migrate: false,
    });
    try {
      const res = await request(rt.app as Express).get('/readyz').expect(503);
      expect(res.body.checks.migrations).toMatchObject({ ok: false, error: 'migrations pending' });
    } finally {
      await rt.close();
      await db.close();
    }
  });
});
