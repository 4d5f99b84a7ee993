import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../../src/adapters/postgres/database';

/**
 * Each test file gets its own database: in-memory PGlite by default, or a fresh database on the
 * Postgres server named by TEST_DATABASE_URL (dropped afterwards).
 */
export interface TestDatabase extends Database {
  /** Set when the database lives on a server; other processes can connect to it. */
  url: string | undefined;
}

export function usingServer(): boolean {
  return Boolean(process.env.TEST_DATABASE_URL);
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const db = await createDatabase({ dataDir: 'memory://', thread: true });
    return { ...db, url: undefined };
  }
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await createDatabase({ url: url.toString(), poolMax: 10 });
  return {
    ...db,
    url: url.toString(),
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
