import type { Express } from 'express';
import { metaSerialize, postSigned, postWebhook, sign, textPayload, uniqueWamid } from '../support/meta';
import { APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { startPrivateRedis, type PrivateRedis } from '../support/redis-server';

describe('ingress durability: never loses, never duplicates', () => {
  let f: IngressFixture;
  let app: Express;
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    f = await createIngressFixture({ REDIS_URL: redis.url });
    app = f.rt.app as Express;
  });
  afterAll(async () => {
    await redis.start().catch(() => undefined);
    await f.rt.teardown();
    await redis.stop();
  });
  beforeEach(async () => {
    await f.reset();
  });
  const messages = () => f.rows<{ wamid: string; dispatch_pending: boolean }>('select wamid, dispatch_pending from messages');

  it('one delivery posted 5 times concurrently, then again a minute later: one row, one agent job, every answer 200', async () => {
    const body = metaSerialize(textPayload({ wamid: uniqueWamid() }));
    const sig = sign(body, APP_SECRET);
    const answers = await Promise.all(Array.from({ length: 5 }, () => postWebhook(app, body, sig)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    // Meta's retry a minute later: the dedupe key is the durable wamid, not a time-limited cache,
    // so no clock matters here; waiting is not needed to show it.
    expect((await postWebhook(app, body, sig)).status).toBe(200);
    expect(await messages()).toEqual([expect.objectContaining({ dispatch_pending: false })]);
    expect(await f.agentJobs()).toBe(1);
    const events = await f.rows<{ type: string }>('select type from events');
    expect(events.filter((e) => e.type === 'message.received')).toHaveLength(1);
  });

  it("a process stopped between its commit and its enqueue: Meta's retry queues the job", async () => {
    const body = metaSerialize(textPayload({ wamid: uniqueWamid() }));
    const sig = sign(body, APP_SECRET);
    // The first attempt commits, then its job is lost before Meta hears back (as if the process
    // had died right after the commit); Meta, without an answer, sends the delivery again.
    expect((await postWebhook(app, body, sig)).status).toBe(200);
    await f.clearAgent();
    expect(await f.agentJobs()).toBe(0);
    expect((await postWebhook(app, body, sig)).status).toBe(200);
    expect(await messages()).toEqual([expect.objectContaining({ dispatch_pending: false })]);
    expect(await f.agentJobs()).toBe(1);
  });

  it('a burst from one customer is one pending agent job for the conversation', async () => {
    for (let i = 0; i < 3; i++) await postSigned(app, textPayload({ body: `part ${i}` }), APP_SECRET).expect(200);
    expect(await messages()).toHaveLength(3);
    expect(await f.agentJobs()).toBe(1);
  });

  it('the window follows the latest Meta timestamp and never moves backwards', async () => {
    const t = Math.floor(Date.now() / 1000);
    await postSigned(app, textPayload({ timestamp: t }), APP_SECRET).expect(200);
    await postSigned(app, textPayload({ timestamp: t - 3600 }), APP_SECRET).expect(200); // a late retry
    const [conv] = await f.rows<{ window_expires_at: Date; last_inbound_at: Date }>('select * from conversations');
    expect(conv?.last_inbound_at).toEqual(new Date(t * 1000));
    expect(conv?.window_expires_at).toEqual(new Date((t + 86_400) * 1000));
  });

  it('Redis down: 503 with the row stored once; Meta\'s retry after recovery gets 200 and one job', async () => {
    const body = metaSerialize(textPayload({ wamid: uniqueWamid() }));
    const sig = sign(body, APP_SECRET);
    await redis.stop();
    try {
      const down = await postWebhook(app, body, sig);
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBeDefined();
      expect(await messages()).toEqual([expect.objectContaining({ dispatch_pending: true })]);
      // Meta retries while Redis is still down: still 503, still one row.
      expect((await postWebhook(app, body, sig)).status).toBe(503);
      expect(await messages()).toHaveLength(1);
    } finally {
      await redis.start();
    }
    // ioredis reconnects on its own; Meta keeps retrying until it gets a 200.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await postWebhook(app, body, sig)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect(await messages()).toEqual([expect.objectContaining({ dispatch_pending: false })]);
    expect(await f.agentJobs()).toBe(1);
  });

  it('an enqueue lost after commit is re-driven by the sweeper from the stored rows', async () => {
    await redis.stop();
    try {
      expect((await postSigned(app, textPayload({}), APP_SECRET)).status).toBe(503);
    } finally {
      await redis.start();
    }
    // Meta gives up (or takes hours): the sweeper finds the row and enqueues its job.
    await f.rt.db.pool.query("update messages set created_at = now() - interval '1 minute'");
    let redriven = { agent: 0, media: 0 };
    for (let i = 0; i < 50 && redriven.agent === 0; i++) {
      redriven = await f.rt.services.ingress.redrive().catch(() => ({ agent: 0, media: 0 }));
      if (redriven.agent === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(redriven.agent).toBe(1);
    expect(await messages()).toEqual([expect.objectContaining({ dispatch_pending: false })]);
    expect(await f.agentJobs()).toBe(1);
    expect((await f.rt.services.ingress.redrive()).agent).toBe(0);
  });

  it('database unavailable: 503 and nothing half-stored; the retry stores it once', async () => {
    const body = metaSerialize(textPayload({ wamid: uniqueWamid() }));
    const sig = sign(body, APP_SECRET);
    const { db } = f.rt;
    const { pool, commitIngress } = db;
    const connect = pool.connect.bind(pool);
    // The pool cannot reach the server: every new transaction fails to connect. The embedded
    // database's thread, where it commits the ingress's groups, has stopped.
    pool.connect = (() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))) as unknown as typeof pool.connect;
    if (commitIngress) db.commitIngress = () => Promise.reject(new Error('the embedded database thread exited (code 1)'));
    try {
      const res = await postWebhook(app, body, sig);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('service_unavailable');
    } finally {
      pool.connect = connect;
      db.commitIngress = commitIngress;
    }
    expect(await messages()).toHaveLength(0);
    expect((await postWebhook(app, body, sig)).status).toBe(200);
    expect((await postWebhook(app, body, sig)).status).toBe(200);
    expect(await messages()).toHaveLength(1);
    expect(await f.agentJobs()).toBe(1);
  });

  it('a failure at the commit rolls the whole delivery back and queues no job', async () => {
    const a = uniqueWamid();
    const payload = textPayload({ wamid: a }) as { entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[] };
    const msgs = payload.entry[0]?.changes[0]?.value.messages as Record<string, unknown>[];
    msgs.push({ ...msgs[0], id: uniqueWamid(), timestamp: String(Number(msgs[0]?.timestamp) + 1) });
    // Every row of the delivery is written (one statement), then the COMMIT fails: a deferred
    // trigger raises there, as a server that fails to commit would.
    const pool = f.rt.db.pool;
    // A sequence counts the rows the trigger saw: nextval is not rolled back with the rest.
    await pool.query('create sequence commit_attempts');
    await pool.query(`create function fail_at_commit() returns trigger language plpgsql as $$
      begin perform nextval('commit_attempts'); raise exception 'the commit failed'; end $$`);
    await pool.query('create constraint trigger fail_at_commit after insert on messages deferrable initially deferred for each row execute function fail_at_commit()');
    try {
      expect((await postSigned(app, payload, APP_SECRET)).status).toBe(503);
    } finally {
      await pool.query('drop trigger fail_at_commit on messages');
    }
    // The statement ran (its rows reached the trigger, at the commit) and nothing of it stayed.
    expect((await f.rows<{ called: boolean }>('select is_called as called from commit_attempts'))[0]?.called).toBe(true);
    await pool.query('drop function fail_at_commit');
    await pool.query('drop sequence commit_attempts');
    // Jobs are queued after the commit: none for messages that were never stored.
    expect(await f.agentJobs()).toBe(0);
    expect(await messages()).toHaveLength(0);
    expect(await f.rows('select * from contacts')).toHaveLength(0);
    expect(await f.rows('select * from events')).toHaveLength(0);
  });
});
