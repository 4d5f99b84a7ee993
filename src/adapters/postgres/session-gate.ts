/**
 * One database session shared by several connections (the embedded database has exactly one):
 * the gate lets one batch of protocol messages run at a time, in arrival order, and keeps the
 * session for the connection that left it inside a transaction (or half-way through an
 * extended-protocol exchange) until that connection brings it back to idle. The others' batches
 * wait meanwhile, as they would for a row lock on a server, instead of running inside a
 * transaction that is not theirs.
 *
 * A session is idle when the answer to a batch ends with ReadyForQuery 'I'.
 */
export interface SessionGate {
  run(connection: object, batch: Uint8Array): Promise<Uint8Array>;
}

export function createSessionGate(exec: (batch: Uint8Array) => Promise<Uint8Array>): SessionGate {
  type Job = { connection: object; batch: Uint8Array; resolve: (a: Uint8Array) => void; reject: (e: unknown) => void };
  const queue: Job[] = [];
  let owner: object | undefined;
  let running = false;

  function pump(): void {
    if (running) return;
    const i = owner === undefined ? 0 : queue.findIndex((j) => j.connection === owner);
    const job = i >= 0 ? queue[i] : undefined;
    if (!job) return;
    queue.splice(i, 1);
    running = true;
    exec(job.batch).then(
      (answer) => {
        owner = endsIdle(answer) ? undefined : job.connection;
        job.resolve(answer);
      },
      (e: unknown) => {
        // The database failed, not a statement (those are answers): nothing will bring this
        // session back to idle, so hold no one else up waiting for it.
        owner = undefined;
        job.reject(e);
      },
    ).finally(() => {
      running = false;
      pump();
    });
  }

  return {
    run(connection, batch) {
      return new Promise((resolve, reject) => {
        queue.push({ connection, batch, resolve, reject });
        pump();
      });
    },
  };
}

/** Whether a backend answer ends with ReadyForQuery in the idle state. */
export function endsIdle(answer: Uint8Array): boolean {
  // Walk the messages (a type byte, then a length that counts itself): the last one decides.
  const view = new DataView(answer.buffer, answer.byteOffset, answer.byteLength);
  let last = -1;
  for (let at = 0; at + 5 <= answer.byteLength; at += 1 + view.getUint32(at + 1)) last = at;
  // ReadyForQuery: 'Z', length 5, then the status byte ('I' idle).
  return last >= 0 && last + 6 === answer.byteLength && answer[last] === 0x5a && answer[last + 5] === 0x49;
}
