import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { IngressPlan } from '../../domain/ingress/plan';
import type { Database } from './database';
import type { IngressCommit } from './ingress.repo';
import { embeddedPoolConfig, PgliteBatchingConnection } from './pglite-connection';
import type { ThreadReply, ThreadRequest, WorkerData } from './pglite-thread.worker';

/**
 * The embedded database (PGlite) on a thread of its own.
 *
 * PGlite runs Postgres in WebAssembly on the thread that calls it, so on the event loop's thread
 * every statement stops the HTTP server, and a gateway under load had one core busy and the
 * other mostly idle. Here a worker thread owns PGlite and runs the ingress's group commit: each
 * turn of the event loop posts the deliveries it verified and parsed, and the database thread
 * forms its groups from whatever arrived while its last group ran (it never waits for the event
 * loop to hand it one). Everything else reaches the same database session through `pool`, whose
 * connection carries the Postgres wire protocol to the thread; there a gate (session-gate.ts)
 * runs one batch at a time and keeps the session for a connection while it is inside a
 * transaction.
 *
 * If the thread fails, every pending and later call fails with the reason (the ingress answers
 * 503, /readyz reports the database down): restart the process.
 */
const WORKER_ENTRY = path.join(__dirname, `pglite-thread.worker${path.extname(__filename)}`);

// The worker loads its entry with require(): TypeScript (under tsx or jest) through tsx's
// CommonJS hook, the build's JavaScript as it is. It gets no execArgv of ours (tsx's own loader
// flags, jest's): only what the entry needs.
const BOOT = `
const { workerData } = require('node:worker_threads');
if (workerData.tsx) require(workerData.tsx).register();
require(workerData.entry);
`;

interface Call {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** An error of the database thread, as it crossed over (its code and detail kept for the logs). */
function revive(e: ThreadReply & { error?: unknown }): Error {
  const info = (e.error ?? {}) as { message?: string; code?: string; detail?: string };
  return Object.assign(new Error(info.message ?? 'the database thread failed'), { code: info.code, detail: info.detail });
}

export async function startPgliteThread(opts: {
  dataDir: string;
  /** An error of the pool's connection (what a server's pool reports for an idle client). */
  onError?: (err: Error) => void;
  /** The thread stopped (crashed, or was terminated) while the database was in use. */
  onFailure?: (err: Error) => void;
}): Promise<Database & { thread: Worker }> {
  const data: WorkerData = {
    entry: WORKER_ENTRY,
    tsx: WORKER_ENTRY.endsWith('.ts') ? require.resolve('tsx/cjs/api') : undefined,
    dataDir: opts.dataDir,
  };
  const worker = new Worker(BOOT, { eval: true, workerData: data, execArgv: [] });
  const calls = new Map<number, Call>();
  let nextId = 1;
  let failure: Error | undefined;
  let closing = false;
  /** Pending while the thread opens the database. */
  let started: Call | undefined;
  let closed: (() => void) | undefined;

  const fail = (err: Error) => {
    if (failure) return;
    failure = err;
    for (const c of calls.values()) c.reject(err);
    calls.clear();
    started?.reject(err);
    if (!closing && started === undefined) opts.onFailure?.(err);
  };
  worker.on('error', (e) => fail(new Error(`the embedded database thread failed: ${e.message}`, { cause: e })));
  worker.on('exit', (code) => {
    fail(new Error(`the embedded database thread exited (code ${code})`));
    closed?.();
  });
  worker.on('message', (m: ThreadReply) => {
    if (m.t === 'ready') return started?.resolve(undefined);
    if (m.t === 'failed') return fail(revive(m));
    const call = calls.get(m.id);
    if (!call) return;
    calls.delete(m.id);
    if ('error' in m) call.reject(revive(m));
    else call.resolve(m.t === 'answer' ? m.answer : m.commit);
  });

  function call<T>(request: ThreadRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (failure) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      calls.set(request.id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage(request, transfer);
    });
  }

  const ready = new Promise<void>((resolve, reject) => {
    started = { resolve: () => resolve(), reject };
  });
  try {
    await ready;
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  // From here on a failure is the running database's, reported through onFailure.
  started = undefined;

  // node-postgres's buffers may share a pooled ArrayBuffer: each batch crosses in a copy of its own.
  const connection = new PgliteBatchingConnection((batch) => {
    const copy = new Uint8Array(batch);
    return call<Uint8Array>({ t: 'exec', id: nextId++, batch: copy }, [copy.buffer as ArrayBuffer]);
  });
  const pool = new pg.Pool(embeddedPoolConfig(connection));
  pool.on('error', (e) => opts.onError?.(e));

  return {
    pool,
    kind: 'pglite',
    thread: worker,
    commitIngress: (plans: IngressPlan[], dispatchPending: boolean) => call<IngressCommit>({ t: 'commit', id: nextId++, plans, dispatchPending }),
    async close() {
      closing = true;
      await pool.end();
      if (failure) return;
      const exited = new Promise<void>((resolve) => (closed = resolve));
      worker.postMessage({ t: 'close', id: nextId++ } satisfies ThreadRequest);
      await exited;
    },
  };
}
