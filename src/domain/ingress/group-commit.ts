/**
 * Group commit: concurrent callers submit work; while a flush runs, the next ones queue up and
 * are flushed together, in one transaction. An idle committer flushes on the next turn of the
 * event loop, so a lone request waits for next to nothing. `concurrency` groups may be in flight
 * at once (a database server overlaps their commits; the embedded one runs one at a time). If a
 * group fails, its members are retried one by one, so one bad delivery cannot fail its neighbours.
 */
export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
}

export function createGroupCommit<I, O>(
  flush: (items: I[]) => Promise<O[]>,
  opts: { maxBatch: number; concurrency?: number },
): GroupCommit<I, O> {
  type Entry = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  let queue: Entry[] = [];
  let running = 0;
  let scheduled = false;
  const concurrency = opts.concurrency ?? 1;

  async function run(batch: Entry[]): Promise<void> {
    try {
      const out = await flush(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(out[i] as O));
    } catch (e) {
      if (batch.length === 1) {
        batch[0]?.reject(e);
        return;
      }
      for (const b of batch) await run([b]);
    }
  }

  function pump(): void {
    while (running < concurrency && queue.length > 0) {
      const batch = queue.slice(0, opts.maxBatch);
      queue = queue.slice(batch.length);
      running++;
      void run(batch).finally(() => {
        running--;
        schedule();
      });
    }
  }

  function schedule(): void {
    // Start on the next turn of the event loop, after every request already read from the
    // sockets in this turn has joined the group. (A synchronous database like the embedded one
    // blocks the loop while it works, so requests arrive in bursts between flushes.)
    if (scheduled || queue.length === 0 || running >= concurrency) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
