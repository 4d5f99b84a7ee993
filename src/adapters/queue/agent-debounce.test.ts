import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { captureLogs } from '../../../test/support/logs';
import { REDIS_URL } from '../../../test/support/runtime';
import { waitFor } from '../../../test/support/wait';
import { agentDebounceKeys, createAgentDebounce } from './agent-debounce';
import { createQueues, type Queues } from './queues';

/** The agent's debounce against a real Redis and a real BullMQ agent queue. */
describe('agent debounce', () => {
  let redis: Redis;
  let prefix: string;
  let queues: Queues;
  let agent: Queue;

  beforeEach(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    prefix = `deb${randomBytes(4).toString('hex')}`;
    queues = createQueues({ connection: redis, prefix });
    agent = queues.get('agent');
  });

  afterEach(async () => {
    await agent.obliterate({ force: true });
    await redis.del(...Object.values(agentDebounceKeys(prefix)));
    await queues.close();
    redis.disconnect();
  });

  const item = (conversationId: string, messageId: string, extra: { round?: string; correlationId?: string } = {}) => ({
    workspaceId: 'ws_1',
    conversationId,
    messageId,
    ...extra,
  });
  /** A second debounce on the same keys whose queue does `addBulk` instead. */
  const withAddBulk = (addBulk: Queues['addBulk']) =>
    createAgentDebounce({ redis, prefix, queues: { addBulk }, debounceMs: 0, logger: captureLogs().logger });
  const jobs = async () => (await agent.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => ({ id: j.id, data: j.data as unknown }));

  it('a burst of one conversation is one job, for its latest message, made once the debounce ran out', async () => {
    const logs = captureLogs();
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 300, logger: logs.logger });
    await d.schedule([item('conv_a', 'msg_1')]);
    await d.schedule([item('conv_a', 'msg_2', { correlationId: 'req-2' }), item('conv_b', 'msg_3')]);
    expect(await d.size()).toBe(2);
    expect(await d.pending('conv_a')).toBe(true);
    expect(await d.pending('conv_c')).toBe(false);
    // Not due yet: nothing is promoted, nothing leaves.
    expect(await d.promoteDue()).toBe(0);
    expect(await jobs()).toEqual([]);
    await new Promise((r) => setTimeout(r, 350));
    expect(await d.promoteDue()).toBe(2);
    expect((await jobs()).sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([
      { id: 'agent-conv_a-msg_2', data: { workspaceId: 'ws_1', conversationId: 'conv_a', messageId: 'msg_2', correlationId: 'req-2' } },
      { id: 'agent-conv_b-msg_3', data: { workspaceId: 'ws_1', conversationId: 'conv_b', messageId: 'msg_3' } },
    ]);
    expect(await d.size()).toBe(0);
    expect(await redis.hlen(agentDebounceKeys(prefix).data)).toBe(0);
    // Every agent job of a conversation shares one deduplication id.
    expect(await agent.getDeduplicationJobId('agent-conv_a')).toBe('agent-conv_a-msg_2');
  });

  it('a new message pushes the conversation back by the debounce', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 400, logger: captureLogs().logger });
    await d.schedule([item('conv_a', 'msg_1')]);
    await new Promise((r) => setTimeout(r, 250));
    await d.schedule([item('conv_a', 'msg_2')]);
    await new Promise((r) => setTimeout(r, 250));
    // 500 ms after the first message, 250 after the second: not due.
    expect(await d.promoteDue()).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await d.promoteDue()).toBe(1);
    expect((await jobs()).map((j) => j.id)).toEqual(['agent-conv_a-msg_2']);
  });

  it('a round (a handback asks again) is part of the job id', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 0, logger: captureLogs().logger });
    await d.schedule([item('conv_a', 'msg_1', { round: 'handback1700000000000' })]);
    expect(await d.promoteDue()).toBe(1);
    expect((await jobs()).map((j) => j.id)).toEqual(['agent-conv_a-msg_1-handback1700000000000']);
  });

  it('a message that arrives while its conversation is promoted stays for the next job', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 0, logger: captureLogs().logger });
    await d.schedule([item('conv_a', 'msg_1')]);
    // The next message lands between the read of what is due and the removal.
    const racing = withAddBulk(async (name, list) => {
      await d.schedule([item('conv_a', 'msg_2')]);
      return queues.addBulk(name, list);
    });
    expect(await racing.promoteDue()).toBe(1);
    expect(await d.pending('conv_a')).toBe(true);
    expect(await d.promoteDue()).toBe(1);
    expect(await d.pending('conv_a')).toBe(false);
    // The second job waits behind the first (it runs only if that one is active, otherwise the
    // waiting one answers both messages): BullMQ's deduplication keeps one waiting job.
    expect((await jobs()).map((j) => j.id)).toEqual(['agent-conv_a-msg_1']);
  });

  it('nothing is lost when the queue refuses the jobs: the entries stay and the next pass adds them', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 0, logger: captureLogs().logger });
    await d.schedule([item('conv_a', 'msg_1')]);
    const failing = withAddBulk(async () => Promise.reject(new Error('simulated: queue unavailable')));
    await expect(failing.promoteDue()).rejects.toThrow('simulated');
    expect(await d.pending('conv_a')).toBe(true);
    // Promoting twice (two worker processes) adds the job once.
    expect(await d.promoteDue()).toBe(1);
    await d.schedule([item('conv_a', 'msg_1')]);
    expect(await d.promoteDue()).toBe(1);
    expect((await jobs()).map((j) => j.id)).toEqual(['agent-conv_a-msg_1']);
  });

  it('an entry whose data cannot make a job is dropped and said, the others promoted', async () => {
    const logs = captureLogs();
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 0, logger: logs.logger });
    const keys = agentDebounceKeys(prefix);
    await redis.zadd(keys.due, 1, 'conv_bad');
    await redis.hset(keys.data, 'conv_bad', '{"not":"a job"}');
    await d.schedule([item('conv_a', 'msg_1')]);
    expect(await d.promoteDue()).toBe(2);
    expect((await jobs()).map((j) => j.id)).toEqual(['agent-conv_a-msg_1']);
    expect(await d.size()).toBe(0);
    expect(logs.lines().find((l) => l.msg === 'agent debounce entry without job data: dropped')).toMatchObject({ conversation_id: 'conv_bad' });
  });

  it('the promoter turns due conversations into jobs on its own, and stops', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 100, logger: captureLogs().logger });
    const promoter = d.start({ everyMs: 20 });
    try {
      await d.schedule([item('conv_a', 'msg_1'), item('conv_b', 'msg_2')]);
      await waitFor('both jobs', async () => (await jobs()).length === 2, 5_000);
      expect(await d.size()).toBe(0);
    } finally {
      await promoter.stop();
    }
    await d.schedule([item('conv_c', 'msg_3')]);
    await new Promise((r) => setTimeout(r, 250));
    expect(await d.size()).toBe(1);
  });

  it('a conversation scheduled in the promoter\'s own process is promoted when due, not a poll later', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 150, logger: captureLogs().logger });
    const promoter = d.start({ everyMs: 60_000 });
    try {
      await new Promise((r) => setTimeout(r, 100)); // its first pass is over
      const at = Date.now();
      await d.schedule([item('conv_a', 'msg_1')]);
      await waitFor('the job', async () => (await jobs()).length === 1, 5_000);
      expect(Date.now() - at).toBeGreaterThanOrEqual(140);
      expect(Date.now() - at).toBeLessThan(2_000);
    } finally {
      await promoter.stop();
    }
  });

  it('clear() forgets every waiting conversation', async () => {
    const d = createAgentDebounce({ redis, prefix, queues, debounceMs: 60_000, logger: captureLogs().logger });
    await d.schedule([item('conv_a', 'msg_1')]);
    await d.clear();
    expect(await d.size()).toBe(0);
    expect(await redis.exists(...Object.values(agentDebounceKeys(prefix)))).toBe(0);
  });
});
