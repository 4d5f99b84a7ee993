import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { Queue, type Job } from 'bullmq';
import { createWorker } from '../../src/adapters/queue/queues';
import { createRedis } from '../../src/adapters/redis/redis';
import { createShutdown } from '../../src/lib/shutdown';
import { captureLogs } from '../support/logs';
import { deleteRedisPrefix, REDIS_URL } from '../support/runtime';

/** Graceful shutdown with a real HTTP server and a real BullMQ worker on Redis. */
describe('graceful shutdown', () => {
  const prefix = `s${randomBytes(5).toString('hex')}`;
  afterAll(async () => {
    await deleteRedisPrefix(prefix);
  });

  async function setup(jobMs: number) {
    const { logger } = captureLogs();
    const app = express();
    app.get('/slow', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 400));
      res.json({ done: true });
    });
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const connection = createRedis(REDIS_URL, 'worker', logger);
    const producer = createRedis(REDIS_URL, 'worker', logger);
    const queue = new Queue('maintenance', { connection: producer, prefix });
    await queue.obliterate({ force: true });
    const started: string[] = [];
    const finished: string[] = [];
    const worker = createWorker(
      'maintenance',
      async (_data, job: Job) => {
        started.push(String(job.id));
        await new Promise((r) => setTimeout(r, jobMs));
        finished.push(String(job.id));
      },
      { connection, prefix, logger },
    );
    void worker.run();
    const runtime = {
      close: async ({ force = false } = {}) => {
        await worker.close(force);
      },
    };
    const cleanup = async () => {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      producer.disconnect();
    };
    return { server, port, queue, worker, started, finished, runtime, logger, cleanup };
  }

  it('finishes the in-flight request and job, takes nothing new, and reports clean', async () => {
    const s = await setup(600);
    await s.queue.add('maintenance', { task: 'prune' }, { jobId: 'first' });
    while (!s.started.includes('first')) await new Promise((r) => setTimeout(r, 20));
    const inflight = fetch(`http://127.0.0.1:${s.port}/slow`).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 50));

    const shutdown = createShutdown({ server: s.server, runtime: s.runtime, timeoutMs: 5_000, logger: s.logger });
    const outcome = shutdown();
    await new Promise((r) => setTimeout(r, 50));
    await s.queue.add('maintenance', { task: 'prune' }, { jobId: 'second' });
    await expect(fetch(`http://127.0.0.1:${s.port}/slow`)).rejects.toThrow();

    expect(await inflight).toEqual({ done: true });
    expect(await outcome).toBe('clean');
    expect(s.finished).toEqual(['first']);
    expect(s.started).not.toContain('second');
    expect(await s.queue.getJobState('second')).toBe('waiting');
    await s.cleanup();
  });

  it('gives up at the deadline and says so', async () => {
    const s = await setup(5_000);
    await s.queue.add('maintenance', { task: 'prune' }, { jobId: 'long' });
    while (!s.started.includes('long')) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    const outcome = await createShutdown({ server: s.server, runtime: s.runtime, timeoutMs: 300, logger: s.logger })();
    expect(outcome).toBe('forced');
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(s.finished).toEqual([]);
    // Let the abandoned job run out before the queue is removed.
    while (s.finished.length === 0) await new Promise((r) => setTimeout(r, 100));
    await s.cleanup();
  });
});
