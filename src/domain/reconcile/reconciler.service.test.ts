import { captureLogs } from '../../../test/support/logs';
import type { JobPresence, ReconcileQueues, ReconcileRepo, StuckOutbound, UnansweredConversation } from './reconcile.port';
import { createReconciler } from './reconciler.service';

/** The reconciler's decisions, with the database and the queues as in-memory fakes. */
function setup(opts: { stuck?: StuckOutbound[]; unanswered?: UnansweredConversation[]; sendJobs?: Record<string, JobPresence>; live?: string[]; rounds?: Record<string, JobPresence> } = {}) {
  let clock = 1_000_000;
  const calls = { stuckCutoffs: [] as { queuedBefore: Date; sendingBefore: Date }[], unansweredScans: 0, enqueued: [] as string[], sendsEnsured: [] as string[] };
  const repo: ReconcileRepo = {
    async stuckOutbound(cutoffs) {
      calls.stuckCutoffs.push(cutoffs);
      return opts.stuck ?? [];
    },
    async unansweredConversations() {
      calls.unansweredScans++;
      return opts.unanswered ?? [];
    },
    async undispatchedEvents() {
      return 0;
    },
  };
  const queues: ReconcileQueues = {
    async agentJobLive(conversationId) {
      return (opts.live ?? []).includes(conversationId);
    },
    async agentRound(conversationId, messageId, round) {
      return opts.rounds?.[`${conversationId}:${round}`] ?? 'missing';
    },
    async enqueueAgentRound(c, round) {
      calls.enqueued.push(`${c.conversationId}:rc${round}`);
    },
    async ensureSendJob(m) {
      calls.sendsEnsured.push(m.messageId);
      return opts.sendJobs?.[m.messageId] ?? 'missing';
    },
  };
  const logs = captureLogs();
  const reconciler = createReconciler({
    repo,
    queues,
    dispatchEvents: async () => 0,
    sweepDeliveries: async () => 0,
    logger: logs.logger,
    now: () => clock,
  });
  return { reconciler, calls, logs, advance: (ms: number) => (clock += ms) };
}

const out = (messageId: string, status: StuckOutbound['status']): StuckOutbound => ({ workspaceId: 'ws_1', messageId, numberId: 'num_1', recipient: '+15550001', status });
const conv = (conversationId: string): UnansweredConversation => ({ workspaceId: 'ws_1', conversationId, messageId: `msg_${conversationId}` });

describe('reconciler decisions', () => {
  it('counts queued messages requeued and sending ones resolved, and leaves live jobs alone', async () => {
    const { reconciler, calls, logs } = setup({
      stuck: [out('m1', 'queued'), out('m2', 'queued'), out('m3', 'sending'), out('m4', 'sending')],
      sendJobs: { m1: 'missing', m2: 'live', m3: 'failed', m4: 'live' },
    });
    expect(await reconciler.run()).toMatchObject({ sendsRequeued: 1, sendsResolved: 1 });
    expect(calls.sendsEnsured).toEqual(['m1', 'm2', 'm3', 'm4']);
    // Default grace: 30 s for queued, 60 s for sending.
    expect(calls.stuckCutoffs[0]).toEqual({ queuedBefore: new Date(1_000_000 - 30_000), sendingBefore: new Date(1_000_000 - 60_000) });
    expect(logs.lines().filter((l) => l.msg === 'reconciler drove stuck work on')).toEqual([expect.objectContaining({ sends_requeued: 1, sends_resolved: 1 })]);
  });

  it('re-drives an unanswered conversation in the first round not used yet, and gives up after three', async () => {
    const { reconciler, calls, logs } = setup({
      unanswered: [conv('a'), conv('b'), conv('c'), conv('live')],
      live: ['live'],
      rounds: { 'b:1': 'failed', 'c:1': 'failed', 'c:2': 'completed', 'c:3': 'failed' },
    });
    expect(await reconciler.run()).toMatchObject({ agentRedriven: 2, agentGaveUp: 1 });
    expect(calls.enqueued).toEqual(['a:rc1', 'b:rc2']);
    expect(logs.lines().find((l) => l.msg === 'reconciler gave up on an unanswered conversation')).toMatchObject({ conversation_id: 'c' });
  });

  it('scans for unanswered conversations at most every 30 s', async () => {
    const { reconciler, calls, advance } = setup();
    await reconciler.run();
    advance(29_000);
    await reconciler.run();
    expect(calls.unansweredScans).toBe(1);
    advance(1_000);
    await reconciler.run();
    expect(calls.unansweredScans).toBe(2);
  });

  it('logs nothing when there was nothing to do', async () => {
    const { reconciler, logs } = setup();
    expect(await reconciler.run()).toEqual({ agentRedriven: 0, agentGaveUp: 0, sendsRequeued: 0, sendsResolved: 0, eventsDispatched: 0, deliveriesRedriven: 0 });
    expect(logs.lines()).toEqual([]);
  });

  it('a failing part does not stop the others; the failure is reported after them', async () => {
    const enqueued: string[] = [];
    const failing = createReconciler({
      repo: {
        stuckOutbound: async () => {
          throw new Error('Connection is closed.');
        },
        unansweredConversations: async () => [conv('a')],
        undispatchedEvents: async () => 0,
      },
      queues: {
        agentJobLive: async () => false,
        agentRound: async () => 'missing',
        enqueueAgentRound: async (c, round) => {
          enqueued.push(`${c.conversationId}:rc${round}`);
        },
        ensureSendJob: async () => 'missing',
      },
      dispatchEvents: async () => 0,
      sweepDeliveries: async () => 0,
      logger: captureLogs().logger,
    });
    await expect(failing.run()).rejects.toThrow('Connection is closed.');
    expect(enqueued).toEqual(['a:rc1']);
  });
});
