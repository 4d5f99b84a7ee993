import pg from 'pg';
import type { IngressCommitter } from './ingress.repo';
import { embeddedPoolConfig, openPglite, PgliteBatchingConnection, pgliteExec } from './pglite-connection';
import { startPgliteThread } from './pglite-thread';

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface Database {
  /** node-postgres Pool: a server's, or one in front of embedded PGlite (one connection). */
  pool: pg.Pool;
  kind: 'postgres' | 'pglite';
  /**
   * Where the ingress's group transactions run when not through `pool`: the embedded database's
   * own thread (see pglite-thread.ts).
   */
  commitIngress?: IngressCommitter;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without it the embedded PGlite is used. */
  url?: string;
  /** PGlite data directory, or 'memory://' for an in-memory database (tests). */
  dataDir?: string;
  poolMax?: number;
  /**
   * The embedded database on a thread of its own (with the ingress's group commit), so that it
   * works beside the event loop instead of on it. Off: on the caller's thread.
   */
  thread?: boolean;
  onError?: (err: Error) => void;
  /** The database can no longer be used: the embedded database's thread stopped. */
  onFailure?: (err: Error) => void;
}

// node-postgres returns bigint and numeric as strings; our counters fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  const onError = options.onError ?? (() => undefined);
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', onError);
    // Nor a checked-out client losing it between two queries (a conversation lock held through
    // a model call, a transaction between statements): node-postgres emits that on the client,
    // where an unhandled 'error' event ends the process. Its next query fails instead.
    pool.on('connect', (client) => client.on('error', onError));
    return { pool, kind: 'postgres', close: () => pool.end() };
  }
  const dataDir = options.dataDir ?? 'memory://';
  if (options.thread) return startPgliteThread({ dataDir, onError, onFailure: options.onFailure });
  const pglite = await openPglite(dataDir);
  const pool = new pg.Pool(embeddedPoolConfig(new PgliteBatchingConnection(pgliteExec(pglite))));
  pool.on('error', onError);
  return {
    pool,
    kind: 'pglite',
    close: async () => {
      await pool.end();
      await pglite.close();
    },
  };
}

/** Runs fn in a transaction on one client; rolls back on any error and rethrows it. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** The messages of an extended-protocol pipeline that node-postgres's Query.prepare sends (untyped). */
interface PipelineConnection {
  parsedStatements: Record<string, unknown>;
  submittedNamedStatements: Record<string, unknown>;
  parse(q: { text: string; name?: string; types?: unknown }): void;
  bind(c: object): void;
  describe(c: object): void;
  execute(c: object): void;
  close(c: object): void;
  flush(): void;
  sync(): void;
}

/**
 * A query sent in one round trip with statements before it (the BEGIN that opens its transaction,
 * any SET LOCAL) and after it (the COMMIT that ends it). All go in one extended-protocol pipeline:
 * Parse/Bind/Execute of each, the query's own messages in between, then a single Sync. The server
 * runs them in order inside the transaction the BEGIN opened; the Sync leaves an open transaction
 * open (it ends implicit transactions only). If any fails, the server skips the rest up to the
 * Sync (so a COMMIT after a failed statement never runs) and the promise rejects: the caller
 * rolls back.
 */
class PipelinedQuery extends pg.Query {
  constructor(
    config: pg.QueryConfig,
    private readonly before: string[],
    private readonly after: string[],
    callback: (err: Error | undefined, results: unknown) => void,
  ) {
    super(config, callback as never);
  }

  prepare(connection: PipelineConnection): void {
    const run = (text: string) => {
      connection.parse({ text });
      connection.bind({});
      connection.execute({});
    };
    this.before.forEach(run);
    // Query.prepare ends with the Sync; the statements after go just before it. If the query's
    // values cannot be bound it never executes, and nothing after it is sent either.
    let executed = false;
    const { after } = this;
    const pipeline: PipelineConnection = {
      parsedStatements: connection.parsedStatements,
      submittedNamedStatements: connection.submittedNamedStatements,
      parse: (q) => connection.parse(q),
      bind: (c) => connection.bind(c),
      describe: (c) => connection.describe(c),
      execute: (c) => {
        executed = true;
        connection.execute(c);
      },
      close: (c) => connection.close(c),
      flush: () => connection.flush(),
      sync: () => {
        if (executed) after.forEach(run);
        connection.sync();
      },
    };
    (pg.Query.prototype as unknown as { prepare(c: unknown): void }).prepare.call(this, pipeline);
  }
}

function pipelined<R extends pg.QueryResultRow>(client: pg.PoolClient, config: pg.QueryConfig, before: string[], after: string[]): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    // Always prepared (extended protocol), even without values: the pipeline needs it.
    const query = new PipelinedQuery({ ...config, queryMode: 'extended' } as pg.QueryConfig, before, after, (err, results) => {
      if (err) return reject(err);
      // One result per statement sent (an array only when there were several).
      const all = (Array.isArray(results) ? results : [results]) as pg.QueryResult<R>[];
      resolve(all[before.length] as pg.QueryResult<R>);
    });
    void client.query(query);
  });
}

const SETTING = /^[a-z_]+$/;

/** What withPipelinedTransaction's callback works with. */
export interface PipelinedTransaction {
  /** Runs a statement in the transaction (the first one goes with the BEGIN). */
  query: Queryable['query'];
  /**
   * Runs the transaction's last statement and the COMMIT in one round trip; resolves with the
   * statement's result once both ran. Nothing may be sent in the transaction afterwards, and
   * what it stored stays stored even if the callback then throws.
   */
  commitWith<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * withTransaction without round trips of its own: the BEGIN goes with the transaction's first
 * statement, and the COMMIT with its last when the callback sends that one through `commitWith`
 * (see PipelinedQuery). A transaction of one statement is then one round trip. For transactions
 * whose latency counts, like the ingress's group commit, where every round trip waits its turn on
 * a busy event loop. A transaction that sends no statement sends nothing at all. `setLocal`:
 * settings for this transaction only (SET LOCAL, sent in the same pipeline); names and values are
 * identifiers, not user input.
 */
export async function withPipelinedTransaction<T>(
  pool: pg.Pool,
  fn: (tx: PipelinedTransaction) => Promise<T>,
  opts: { setLocal?: Record<string, string> } = {},
): Promise<T> {
  const before = ['begin'];
  for (const [name, value] of Object.entries(opts.setLocal ?? {})) {
    if (!SETTING.test(name) || !SETTING.test(value)) throw new Error(`not a setting: ${name} = ${value}`);
    before.push(`set local ${name} = ${value}`);
  }
  const client = await pool.connect();
  let state = 'idle' as 'idle' | 'begun' | 'committing';
  const send = (config: pg.QueryConfig, commit: boolean) => {
    if (state === 'committing') return Promise.reject(new Error('the transaction was committed with its last statement'));
    const opening = state === 'idle';
    state = commit ? 'committing' : 'begun';
    if (!opening && !commit) return client.query(config);
    return pipelined(client, config, opening ? before : [], commit ? ['commit'] : []);
  };
  const tx: PipelinedTransaction = {
    query: ((config: string | pg.QueryConfig, values?: unknown[]) =>
      send(typeof config === 'string' ? { text: config, values } : values ? { ...config, values } : config, false)) as Queryable['query'],
    commitWith: (config) => send(config, true),
  };
  try {
    const result = await fn(tx);
    if (state === 'begun') await client.query('commit');
    return result;
  } catch (e) {
    // Also after a failed commitWith: its COMMIT did not run, or failed and ended the transaction.
    if (state !== 'idle') await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
