import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';

/**
 * A node-postgres connection backed by an in-process PGlite.
 *
 * It replaces the connection of `createPgConfig` (from @electric-sql/pglite/node-postgres),
 * whose pool config we otherwise use as is. That connection hands every extended-protocol
 * message (Parse, Bind, Describe, Execute, Sync) to PGlite separately; when a parameterised
 * statement fails (e.g. a foreign-key violation), PGlite answers the orphaned messages after the
 * error and node-postgres dies on "unexpected parseComplete", killing the process. A socket
 * delivers the messages of one query together, and so do we: the messages of a query are
 * buffered until Sync or Flush and handed to PGlite in one piece, which then skips to the Sync
 * after an error exactly as a Postgres server does.
 */
export class PgliteBatchingConnection extends EventEmitter {
  readonly #pglite: PGlite;
  #queue: Promise<unknown>;
  #pending: Buffer[] = [];
  #emitMessage = false;

  // node-postgres reads these.
  public _connecting = false;
  public parsedStatements: Record<string, unknown> = {};
  public submittedNamedStatements: Record<string, unknown> = {};
  public readonly stream = { destroy: () => this.end(), cork: () => undefined, uncork: () => undefined };

  constructor(pglite: PGlite) {
    super();
    this.#pglite = pglite;
    this.#queue = pglite.waitReady;
    this.on('newListener', (eventName) => {
      if (eventName === 'message') this.#emitMessage = true;
    });
  }

  #buffer(message: Buffer): void {
    this.#pending.push(message);
  }

  #send(message?: Buffer): void {
    if (message) this.#pending.push(message);
    const batch = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#queue = this.#queue
      .then(() => this.#pglite.execProtocolStream(new Uint8Array(batch), { throwOnError: false }))
      .then((messages) => {
        for (const m of messages) {
          if (this.#emitMessage) this.emit('message', m);
          this.emit(m.name === 'error' ? 'errorMessage' : m.name, m);
        }
      })
      .catch((err: unknown) => {
        this.emit('error', err);
      });
  }

  async connect(): Promise<void> {
    this._connecting = true;
    await this.#pglite.waitReady;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}
  ref(): void {}
  unref(): void {}

  query(text: string): void {
    this.#send(serialize.query(text));
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.#buffer(serialize.parse(query));
  }
  bind(config: Parameters<typeof serialize.bind>[0]): void {
    this.#buffer(serialize.bind(config));
  }
  describe(msg: Parameters<typeof serialize.describe>[0]): void {
    this.#buffer(serialize.describe(msg));
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.#buffer(serialize.execute(config));
  }
  close(msg: Parameters<typeof serialize.close>[0]): void {
    this.#buffer(serialize.close(msg));
  }
  flush(): void {
    this.#send(serialize.flush());
  }
  sync(): void {
    this.#send(serialize.sync());
  }
  sendCopyFromChunk(chunk: Buffer): void {
    this.#send(serialize.copyData(chunk));
  }
  endCopyFrom(): void {
    this.#send(serialize.copyDone());
  }
  sendCopyFail(msg: string): void {
    this.#send(serialize.copyFail(msg));
  }

  end(): void {
    this.#pending = [];
    // The pool reuses this connection for its next client. The ended client alone hears 'end'
    // (once its work is flushed); the next client must not, or it thinks the connection died.
    const endListeners = this.listeners('end') as (() => void)[];
    for (const e of this.eventNames()) if (e !== 'newListener') this.removeAllListeners(e);
    this.#emitMessage = false;
    this.#queue = this.#queue.then(() => {
      for (const listener of endListeners) listener.call(this);
    });
  }
}
