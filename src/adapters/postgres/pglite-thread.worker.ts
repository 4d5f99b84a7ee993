import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { IngressPlan } from '../../domain/ingress/plan';
import { commitIngress, type IngressCommit } from './ingress.repo';
import { embeddedPoolConfig, openPglite, PgliteBatchingConnection, pgliteExec } from './pglite-connection';
import { createSessionGate } from './session-gate';

/**
 * The database thread (see pglite-thread.ts): PGlite, the gate in front of its one session, the
 * wire-protocol batches of the event loop's pool, and the ingress's group commit.
 */
export interface WorkerData {
  entry: string;
  tsx: string | undefined;
  dataDir: string;
}

export type ThreadRequest =
  | { t: 'exec'; id: number; batch: Uint8Array }
  | { t: 'commit'; id: number; plans: IngressPlan[]; dispatchPending: boolean }
  | { t: 'close'; id: number };

type SerializedError = { message: string; code?: string; detail?: string };

export type ThreadReply =
  | { t: 'ready' }
  | { t: 'failed'; error: SerializedError }
  | { t: 'answer'; id: number; answer: Uint8Array }
  | { t: 'committed'; id: number; commit: IngressCommit }
  | { t: 'answer' | 'committed'; id: number; error: SerializedError };

/** Deliveries committed in one transaction at most (as the event loop's group commit). */
const MAX_GROUP = 256;

const serializeError = (e: unknown): SerializedError => {
  const err = e as { message?: unknown; code?: unknown; detail?: unknown };
  return {
    message: typeof err?.message === 'string' ? err.message : String(e),
    code: typeof err?.code === 'string' ? err.code : undefined,
    detail: typeof err?.detail === 'string' ? err.detail : undefined,
  };
};

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('pglite-thread.worker runs as a worker thread');
  const { dataDir } = workerData as WorkerData;
  const post = (reply: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

  let pglite;
  try {
    pglite = await openPglite(dataDir);
  } catch (e) {
    post({ t: 'failed', error: serializeError(e) });
    return;
  }
  const db = pglite;
  const gate = createSessionGate(pgliteExec(db));
  const eventLoop = {};
  const ingress = {};
  const pool = new pg.Pool(embeddedPoolConfig(new PgliteBatchingConnection((batch) => gate.run(ingress, batch), { statementPrefix: 'ingress/' })));

  // The group commit: requests that arrive while a group runs make up the next group.
  type Commit = Extract<ThreadRequest, { t: 'commit' }>;
  let waiting: Commit[] = [];
  let draining: Promise<void> | undefined;

  const reply = (c: Commit, outcome: { commit: IngressCommit } | { error: unknown }) =>
    'commit' in outcome ? post({ t: 'committed', id: c.id, commit: outcome.commit }) : post({ t: 'committed', id: c.id, error: serializeError(outcome.error) });

  async function commitGroup(group: Commit[]): Promise<void> {
    const plans = group.flatMap((c) => c.plans);
    try {
      const { results, redriven } = await commitIngress(pool, plans, group[0]?.dispatchPending ?? false);
      let at = 0;
      for (const c of group) {
        const mine = results.slice(at, at + c.plans.length);
        at += c.plans.length;
        const ids = new Set(mine.flatMap((r) => r.dispatch.map((d) => d.messageId)));
        reply(c, { commit: { results: mine, redriven: redriven.filter((id) => ids.has(id)) } });
      }
    } catch (e) {
      // One request's bad delivery must not fail the others': each on its own, then.
      if (group.length === 1) reply(group[0] as Commit, { error: e });
      else for (const c of group) await commitGroup([c]);
    }
  }

  async function drain(): Promise<void> {
    while (waiting.length > 0) {
      // Let the requests already posted arrive first (they are delivered between turns).
      await new Promise((r) => setImmediate(r));
      const group: Commit[] = [];
      let size = 0;
      const first = waiting[0] as Commit;
      while (waiting.length > 0) {
        const next = waiting[0] as Commit;
        if (next.dispatchPending !== first.dispatchPending || (group.length > 0 && size + next.plans.length > MAX_GROUP)) break;
        group.push(next);
        size += next.plans.length;
        waiting.shift();
      }
      await commitGroup(group);
    }
    draining = undefined;
  }

  port.on('message', (m: ThreadRequest) => {
    switch (m.t) {
      case 'exec':
        gate.run(eventLoop, m.batch).then(
          (answer) => {
            // Crosses without a copy when it owns its buffer (PGlite answers in a fresh one).
            const own = answer.byteOffset === 0 && answer.byteLength === answer.buffer.byteLength;
            const out = own ? answer : new Uint8Array(answer);
            post({ t: 'answer', id: m.id, answer: out }, [out.buffer as ArrayBuffer]);
          },
          (e: unknown) => post({ t: 'answer', id: m.id, error: serializeError(e) }),
        );
        return;
      case 'commit':
        waiting.push(m);
        draining ??= drain();
        return;
      case 'close':
        void (async () => {
          await draining;
          waiting = [];
          await pool.end();
          await db.close();
          port.close();
        })();
        return;
    }
  });
  post({ t: 'ready' });
}

void main();
