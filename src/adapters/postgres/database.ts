import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { vector } from '@electric-sql/pglite-pgvector';
import fs from 'node:fs';
import pg from 'pg';
import { PgliteBatchingConnection } from './pglite-connection';

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface Database {
  /** node-postgres Pool: a server's, or one in front of embedded PGlite (one connection). */
  pool: pg.Pool;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without it the embedded PGlite is used. */
  url?: string;
  /** PGlite data directory, or 'memory://' for an in-memory database (tests). */
  dataDir?: string;
  poolMax?: number;
  onError?: (err: Error) => void;
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
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({ dataDir, extensions: { vector } });
  const pool = new pg.Pool({ ...createPgConfig(pglite), connection: new PgliteBatchingConnection(pglite) } as pg.PoolConfig);
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

/**
 * A query sent together with the BEGIN that opens its transaction (and any SET LOCAL after it):
 * one round trip instead of two or more. All go in one extended-protocol pipeline (Parse/Bind/
 * Execute of each, then the query's own messages, then a single Sync). The server runs BEGIN,
 * then the rest inside the transaction it opened; the Sync leaves that transaction open (it ends
 * implicit transactions only). If any fails, the server skips to the Sync and the promise
 * rejects: the caller rolls back.
 */
class BeginThenQuery extends pg.Query {
  constructor(
    config: pg.QueryConfig,
    private readonly before: string[],
    callback: (err: Error | undefined, results: unknown) => void,
  ) {
    super(config, callback as never);
  }

  // node-postgres's Query sends its Parse/Bind/Describe/Execute/Sync from prepare() (untyped).
  prepare(connection: { parse(q: { text: string }): void; bind(c: object): void; execute(c: object): void }): void {
    for (const text of this.before) {
      connection.parse({ text });
      connection.bind({});
      connection.execute({});
    }
    (pg.Query.prototype as unknown as { prepare(c: unknown): void }).prepare.call(this, connection);
  }
}

function beginWith<R extends pg.QueryResultRow>(client: pg.PoolClient, config: pg.QueryConfig, before: string[]): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    // Always prepared (extended protocol), even without values: the pipeline needs it.
    const query = new BeginThenQuery({ ...config, queryMode: 'extended' } as pg.QueryConfig, before, (err, results) => {
      if (err) return reject(err);
      // One result per statement sent: the query's is the last.
      const all = results as pg.QueryResult<R>[];
      resolve(all[all.length - 1] as pg.QueryResult<R>);
    });
    void client.query(query);
  });
}

const SETTING = /^[a-z_]+$/;

/**
 * withTransaction without a round trip of its own for BEGIN: it goes with the transaction's first
 * statement (see BeginThenQuery). For transactions whose latency counts, like the ingress's
 * group commit, where every round trip waits its turn on a busy event loop. A transaction that
 * sends no statement sends nothing at all. `setLocal`: settings for this transaction only
 * (SET LOCAL, sent in the same pipeline); names and values are identifiers, not user input.
 */
export async function withPipelinedTransaction<T>(
  pool: pg.Pool,
  fn: (db: Queryable) => Promise<T>,
  opts: { setLocal?: Record<string, string> } = {},
): Promise<T> {
  const before = ['begin'];
  for (const [name, value] of Object.entries(opts.setLocal ?? {})) {
    if (!SETTING.test(name) || !SETTING.test(value)) throw new Error(`not a setting: ${name} = ${value}`);
    before.push(`set local ${name} = ${value}`);
  }
  const client = await pool.connect();
  let begun = false;
  const query = (config: string | pg.QueryConfig, values?: unknown[]) => {
    if (begun) return client.query(config as pg.QueryConfig, values);
    begun = true;
    return beginWith(client, typeof config === 'string' ? { text: config, values } : values ? { ...config, values } : config, before);
  };
  const db = { query } as unknown as Queryable;
  try {
    const result = await fn(db);
    if (begun) await client.query('commit');
    return result;
  } catch (e) {
    if (begun) await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
