import type { Logger } from '../../lib/logger';
import type { ReconcileQueues, ReconcileRepo } from './reconcile.port';

/**
 * The reconciler: Postgres is the truth, the queues only carry work. After a crash (a worker
 * killed, Redis restarted empty, a job failed after its retries) it finds work the database says
 * is unfinished and whose job is gone or finished, and drives it on:
 *
 * - outbound messages still `queued`: their send job is enqueued again (or re-run if it failed);
 * - outbound messages still `sending` with no live job: handed back to the send worker, which
 *   applies the unknown-outcome policy (sent if the job remembered Meta's wamid, otherwise failed
 *   with `unknown_outcome` and never sent again: at most once);
 * - customer messages of a bot-mode conversation never answered (and not handed off) whose
 *   agent job is gone or exhausted: a new agent job, at most `maxAgentRounds` times per message;
 * - outbox events left undispatched: a dispatch pass; webhook deliveries overdue: re-enqueued.
 *
 * Every step is safe to run concurrently in several worker processes and twice: job ids are
 * deterministic, the agent answers only what is unanswered, and the send worker claims a row
 * before calling Meta.
 */
export interface ReconcileReport {
  /** Agent jobs enqueued for conversations left unanswered. */
  agentRedriven: number;
  /** Conversations whose re-driven agent jobs all finished without answering: left alone. */
  agentGaveUp: number;
  /** `queued` messages whose send job was gone or finished: enqueued or re-run. */
  sendsRequeued: number;
  /** `sending` messages whose send job was gone or finished: handed to the unknown-outcome policy. */
  sendsResolved: number;
  /** Outbox events found undispatched past the grace period, and dispatched by this pass. */
  eventsDispatched: number;
  /** Webhook deliveries overdue (their job lost): enqueued again. */
  deliveriesRedriven: number;
}

export interface Reconciler {
  /** One pass; resolves with what it did (and logs it when it did anything). */
  run(): Promise<ReconcileReport>;
}

export interface ReconcilerOptions {
  /** A queued message untouched this long may have lost its job (default 30 s). */
  queuedAfterMs?: number;
  /** A message sending this long with no live job lost its worker or its job (default 60 s). */
  sendingAfterMs?: number;
  /** A customer message unanswered this long with no live agent job (default 30 s). */
  agentAfterMs?: number;
  /** How often unanswered conversations are looked for (a scan of open bot conversations; default 30 s). */
  agentEveryMs?: number;
  /** Re-driven agent jobs per message before the reconciler gives up on it (default 3). */
  maxAgentRounds?: number;
  /** An outbox event undispatched this long means the dispatcher is not keeping up (default 30 s). */
  eventsAfterMs?: number;
  /** Rows looked at per pass and kind (default 500). */
  batch?: number;
}

export function createReconciler(deps: {
  repo: ReconcileRepo;
  queues: ReconcileQueues;
  /** One dispatch pass of the outbox; returns how many events it dispatched. */
  dispatchEvents: () => Promise<number>;
  /** Re-enqueues overdue webhook deliveries; returns how many. */
  sweepDeliveries: () => Promise<number>;
  logger: Logger;
  options?: ReconcilerOptions;
  now?: () => number;
}): Reconciler {
  const o = deps.options ?? {};
  const queuedAfter = o.queuedAfterMs ?? 30_000;
  const sendingAfter = o.sendingAfterMs ?? 60_000;
  const agentAfter = o.agentAfterMs ?? 30_000;
  const agentEvery = o.agentEveryMs ?? 30_000;
  const maxRounds = o.maxAgentRounds ?? 3;
  const eventsAfter = o.eventsAfterMs ?? 30_000;
  const batch = o.batch ?? 500;
  const now = deps.now ?? Date.now;
  const { logger } = deps;
  let lastAgentScan = -Infinity;

  async function sends(report: ReconcileReport) {
    const t = now();
    const stuck = await deps.repo.stuckOutbound({ queuedBefore: new Date(t - queuedAfter), sendingBefore: new Date(t - sendingAfter) }, batch);
    for (const m of stuck) {
      const found = await deps.queues.ensureSendJob(m);
      if (found === 'live') continue;
      if (m.status === 'queued') report.sendsRequeued++;
      else {
        report.sendsResolved++;
        logger.warn({ message_id: m.messageId, job: found }, 'message left in sending by a crash: handed to the unknown-outcome policy');
      }
    }
  }

  async function agent(report: ReconcileReport) {
    const t = now();
    if (t - lastAgentScan < agentEvery) return;
    lastAgentScan = t;
    for (const c of await deps.repo.unansweredConversations(new Date(t - agentAfter), batch)) {
      if (await deps.queues.agentJobLive(c.conversationId)) continue;
      let round = 0;
      for (let r = 1; r <= maxRounds && round === 0; r++) {
        const state = await deps.queues.agentRound(c.conversationId, c.messageId, r);
        // A live round is covered by agentJobLive; a finished one left the message unanswered.
        if (state === 'missing') round = r;
      }
      if (round === 0) {
        report.agentGaveUp++;
        logger.warn({ conversation_id: c.conversationId, message_id: c.messageId, rounds: maxRounds }, 'reconciler gave up on an unanswered conversation');
        continue;
      }
      await deps.queues.enqueueAgentRound(c, round);
      report.agentRedriven++;
    }
  }

  async function events(report: ReconcileReport) {
    const stale = await deps.repo.undispatchedEvents(new Date(now() - eventsAfter));
    if (stale > 0) {
      // The dispatcher of this process runs every few hundred ms; events this old mean it is
      // failing or not running. One pass here either moves them or fails loudly.
      report.eventsDispatched += await deps.dispatchEvents();
      logger.warn({ undispatched: stale }, 'outbox events were left undispatched');
    }
    report.deliveriesRedriven += await deps.sweepDeliveries();
  }

  return {
    async run() {
      const report: ReconcileReport = { agentRedriven: 0, agentGaveUp: 0, sendsRequeued: 0, sendsResolved: 0, eventsDispatched: 0, deliveriesRedriven: 0 };
      // Each part on its own: Redis down must not stop the database-only work, and the other way round.
      const failures: Error[] = [];
      for (const part of [sends, agent, events]) {
        await part(report).catch((e: Error) => failures.push(e));
      }
      if (Object.values(report).some((n) => n > 0)) {
        logger.info(
          {
            agent_redriven: report.agentRedriven,
            agent_gave_up: report.agentGaveUp,
            sends_requeued: report.sendsRequeued,
            sends_resolved: report.sendsResolved,
            events_dispatched: report.eventsDispatched,
            deliveries_redriven: report.deliveriesRedriven,
          },
          'reconciler drove stuck work on',
        );
      }
      if (failures[0]) throw failures[0];
      return report;
    },
  };
}
