import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser';
import type { BackendMessage } from 'pg-protocol/dist/messages';

/**
 * Runs a batch of frontend protocol messages on the embedded database's session and resolves
 * with the backend's answer to them (the raw bytes). The session is PGlite's, in this thread or
 * in the database thread (pglite-thread.ts).
 */
export type ProtocolExec = (batch: Uint8Array) => Promise<Uint8Array>;

/**
 * A node-postgres connection backed by the embedded database (PGlite).
 *
 * It takes the place of the connection of `createPgConfig` (from @electric-sql/pglite/node-postgres).
 * That connection hands every extended-protocol message (Parse, Bind, Describe, Execute, Sync)
 * to PGlite separately; when a parameterised statement fails (e.g. a foreign-key violation),
 * PGlite answers the orphaned messages after the error and node-postgres dies on "unexpected
 * parseComplete", killing the process. A socket delivers the messages of one query together,
 * and so do we: the messages of a query are buffered until Sync or Flush and handed to PGlite in
 * one piece, which then skips to the Sync after an error exactly as a Postgres server does.
 *
 * Like a server when a client goes away, it rolls back a transaction left open when it ends
 * (pg's pool ends a client released with an error): the session outlives its clients, and the
 * next one must not find itself inside that transaction.
 *
 * `statementPrefix` keeps the names of its prepared statements apart from those of another
 * connection to the same session (node-postgres remembers what it prepared per connection).
 */
export class PgliteBatchingConnection extends EventEmitter {
  readonly #exec: ProtocolExec;
  readonly #prefix: string;
  readonly #parser = new Parser();
  #queue: Promise<unknown> = Promise.resolve();
  #pending: Buffer[] = [];
  #emitMessage = false;
  /** The last ReadyForQuery status ('I' idle, 'T' in a transaction, 'E' in a failed one). */
  #status = 'I';
  /** Messages sent since the last Sync: a Flush leaves the extended protocol half-way. */
  #unsynced = false;

  // node-postgres reads these.
  public _connecting = false;
  public parsedStatements: Record<string, unknown> = {};
  public submittedNamedStatements: Record<string, unknown> = {};
  public readonly stream = { destroy: () => this.end(), cork: () => undefined, uncork: () => undefined };

  constructor(exec: ProtocolExec, opts: { statementPrefix?: string } = {}) {
    super();
    this.#exec = exec;
    this.#prefix = opts.statementPrefix ?? '';
    this.on('newListener', (eventName) => {
      if (eventName === 'message') this.#emitMessage = true;
    });
  }

  #name(name: string | undefined): string | undefined {
    return name && this.#prefix ? this.#prefix + name : name;
  }

  #buffer(message: Buffer): void {
    this.#pending.push(message);
  }

  #send(message: Buffer, synced: boolean): void {
    this.#pending.push(message);
    const batch = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    this.#pending = [];
    this.#unsynced = !synced;
    this.#queue = this.#queue
      .then(() => this.#exec(batch))
      .then((answer) => this.#deliver(answer))
      .catch((err: unknown) => {
        this.emit('error', err);
      });
  }

  #deliver(answer: Uint8Array): void {
    if (answer.byteLength === 0) return;
    this.#parser.parse(Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength), (m: BackendMessage) => {
      if (m.name === 'readyForQuery') this.#status = (m as BackendMessage & { status: string }).status;
      if (this.#emitMessage) this.emit('message', m);
      this.emit(m.name === 'error' ? 'errorMessage' : m.name, m);
    });
  }

  async connect(): Promise<void> {
    this._connecting = true;
    // After what a previous client left (its rollback, see end()). The session is open already.
    await this.#queue;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}
  ref(): void {}
  unref(): void {}

  query(text: string): void {
    this.#send(serialize.query(text), true);
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.#buffer(serialize.parse({ ...query, name: this.#name(query.name) }));
  }
  bind(config: Parameters<typeof serialize.bind>[0] = {}): void {
    this.#buffer(serialize.bind({ ...config, statement: this.#name(config.statement) }));
  }
  describe(msg: Parameters<typeof serialize.describe>[0]): void {
    this.#buffer(serialize.describe(msg.type === 'S' ? { ...msg, name: this.#name(msg.name) } : msg));
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.#buffer(serialize.execute(config));
  }
  close(msg: Parameters<typeof serialize.close>[0]): void {
    this.#buffer(serialize.close(msg.type === 'S' ? { ...msg, name: this.#name(msg.name) } : msg));
  }
  flush(): void {
    this.#send(serialize.flush(), false);
  }
  sync(): void {
    this.#send(serialize.sync(), true);
  }
  sendCopyFromChunk(chunk: Buffer): void {
    this.#send(serialize.copyData(chunk), false);
  }
  endCopyFrom(): void {
    this.#send(serialize.copyDone(), false);
  }
  sendCopyFail(msg: string): void {
    this.#send(serialize.copyFail(msg), false);
  }

  end(): void {
    this.#pending = [];
    // The pool reuses this connection for its next client. The ended client alone hears 'end'
    // (once its work is flushed); the next client must not, or it thinks the connection died.
    const endListeners = this.listeners('end') as (() => void)[];
    for (const e of this.eventNames()) if (e !== 'newListener') this.removeAllListeners(e);
    this.#emitMessage = false;
    this.#queue = this.#queue
      .then(async () => {
        if (this.#status === 'I' && !this.#unsynced) return;
        // What the client left half-way: end its extended-protocol exchange, then its transaction.
        const answer = await this.#exec(Buffer.concat([serialize.sync(), serialize.query('rollback')]));
        this.#unsynced = false;
        this.#parser.parse(Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength), (m: BackendMessage) => {
          if (m.name === 'readyForQuery') this.#status = (m as BackendMessage & { status: string }).status;
        });
      })
      .catch(() => undefined)
      .then(() => {
        for (const listener of endListeners) listener.call(this);
      });
  }
}

/**
 * Runs batches on PGlite and answers with the raw bytes. Not execProtocolRaw: that one parses
 * the answer too (for PGlite's own notification listeners) and keeps every message it parsed.
 * `syncToFs: false`: the file systems we open (a directory, memory) write through and have
 * nothing to sync.
 */
export function pgliteExec(pglite: PGlite): ProtocolExec {
  return async (batch) => {
    const chunks: Uint8Array[] = [];
    // The chunks are views of PGlite's memory, valid during the call only.
    await pglite.execProtocolRawStream(batch, { syncToFs: false, onRawData: (chunk) => chunks.push(chunk.slice()) });
    return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
  };
}

/** The embedded database with pgvector, under `dataDir` (or 'memory://'). */
export async function openPglite(dataDir: string): Promise<PGlite> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  return PGlite.create({ dataDir, extensions: { vector } });
}

/** A node-postgres pool of the embedded database's one session, through `connection`. */
export function embeddedPoolConfig(connection: PgliteBatchingConnection): pg.PoolConfig {
  return { max: 1, user: 'postgres', password: 'dummy', database: 'postgres', host: 'localhost', port: 5432, connection } as pg.PoolConfig;
}

