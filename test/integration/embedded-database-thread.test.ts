import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { Express } from 'express';
import request from 'supertest';
import { createRuntime, type Runtime } from '../../src/composition';
import { captureLogs } from '../support/logs';
import { metaSerialize, postWebhook, sign, SPEC_PHONE_NUMBER_ID, SPEC_WABA_ID, textPayload, uniqueWamid } from '../support/meta';
import { deleteRedisPrefix, testConfig } from '../support/runtime';

/**
 * The gateway as `npm start` runs it without DATABASE_URL: the embedded database under DATA_DIR,
 * on a thread of its own unless EMBEDDED_DATABASE_THREAD=false.
 */
const APP_SECRET = 'thread-app-secret';

async function start(env: Record<string, string>) {
  const config = testConfig(env);
  const logs = captureLogs('warn');
  const lost: Error[] = [];
  const rt = await createRuntime(config, logs.logger, { redis: true, http: true, workers: false, onDatabaseLost: (e) => lost.push(e) });
  const ws = await rt.services.tenancy.createWorkspace({ name: 'Thread Shop' });
  await rt.services.tenancy.addNumber({
    workspaceId: ws.id,
    phoneNumberId: SPEC_PHONE_NUMBER_ID,
    wabaId: SPEC_WABA_ID,
    displayNumber: '+1 555 078 3881',
    accessToken: 'token',
    appSecret: APP_SECRET,
    verifyToken: 'verify',
    source: 'cli',
  });
  return {
    rt,
    logs,
    lost,
    async stop() {
      await rt.close();
      await deleteRedisPrefix(config.queuePrefix);
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

const deliver = (rt: Runtime, wamid: string) => {
  const body = metaSerialize(textPayload({ wamid }));
  return postWebhook(rt.app as Express, body, sign(body, APP_SECRET));
};
const stored = async (rt: Runtime, wamid: string) =>
  (await rt.db.pool.query<{ n: number }>('select count(*)::int as n from messages where wamid = $1', [wamid])).rows[0]?.n;

describe('the embedded database of the gateway', () => {
  it('runs on its own thread by default: deliveries are committed there, and a stopped thread is 503, not a hang', async () => {
    const { rt, logs, lost, stop } = await start({});
    try {
      const thread = (rt.db as { thread?: Worker }).thread;
      expect(thread).toBeDefined();
      expect(rt.db.commitIngress).toBeDefined();
      const first = uniqueWamid();
      expect((await deliver(rt, first)).status).toBe(200);
      expect(await stored(rt, first)).toBe(1);

      await thread?.terminate();
      const res = await deliver(rt, uniqueWamid());
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('service_unavailable');
      const ready = await request(rt.app as Express).get('/readyz').expect(503);
      expect(ready.body.checks.database).toMatchObject({ ok: false, error: expect.stringMatching(/embedded database thread exited/) });
      // Said once, and the process is told (it stops, for its supervisor to start it again).
      expect(logs.lines().filter((l) => /the embedded database stopped/.test(String(l.msg)))).toHaveLength(1);
      expect(lost.map((e) => e.message)).toEqual([expect.stringMatching(/embedded database thread exited/)]);
    } finally {
      await stop();
    }
  });

  it('runs on the event loop with EMBEDDED_DATABASE_THREAD=false', async () => {
    const { rt, lost, stop } = await start({ EMBEDDED_DATABASE_THREAD: 'false' });
    try {
      expect((rt.db as { thread?: Worker }).thread).toBeUndefined();
      expect(rt.db.commitIngress).toBeUndefined();
      const wamid = uniqueWamid();
      expect((await deliver(rt, wamid)).status).toBe(200);
      expect((await deliver(rt, wamid)).status).toBe(200);
      expect(await stored(rt, wamid)).toBe(1);
      expect(lost).toEqual([]);
    } finally {
      await stop();
    }
  });
});
