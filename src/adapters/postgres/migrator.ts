import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

/**
 * Forward-only SQL migrations from supabase/migrations (`YYYYMMDDHHMMSS_name.sql`), each applied
 * in its own transaction and recorded in gateway_migrations. A session advisory lock makes
 * concurrent starts safe: the second process waits, then finds nothing left to do.
 */
const LOCK_KEY = 8_143_266_021; // arbitrary, constant: "the gateway's migration lock"
const FILE_NAME = /^(\d{14})_([a-z0-9_]+)\.sql$/;

export interface MigrationFile {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export function defaultMigrationsDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'supabase', 'migrations');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('supabase/migrations not found above ' + __dirname);
    dir = parent;
  }
}

export function readMigrations(dir: string): MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file name "${file}" is not YYYYMMDDHHMMSS_name.sql`);
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return {
        version: match[1] as string,
        name: match[2] as string,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

const CREATE_TABLE = `create table if not exists gateway_migrations (
  version text primary key,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now()
)`;

export interface MigrationResult {
  applied: string[];
  /** Applied migrations whose file has changed since (forward-only: add a new one instead). */
  changed: string[];
}

export async function migrate(pool: pg.Pool, dir = defaultMigrationsDir()): Promise<MigrationResult> {
  const files = readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await client.query(CREATE_TABLE);
      const done = new Map(
        (await client.query<{ version: string; checksum: string }>('select version, checksum from gateway_migrations'))
          .rows.map((r) => [r.version, r.checksum]),
      );
      const applied: string[] = [];
      const changed: string[] = [];
      for (const m of files) {
        const checksum = done.get(m.version);
        if (checksum !== undefined) {
          if (checksum !== m.checksum) changed.push(`${m.version}_${m.name}`);
          continue;
        }
        try {
          await client.query('begin');
          await client.query(m.sql);
          await client.query('insert into gateway_migrations (version, name, checksum) values ($1, $2, $3)', [
            m.version,
            m.name,
            m.checksum,
          ]);
          await client.query('commit');
        } catch (e) {
          await client.query('rollback').catch(() => undefined);
          throw new Error(`migration ${m.version}_${m.name} failed: ${(e as Error).message}`, { cause: e });
        }
        applied.push(`${m.version}_${m.name}`);
      }
      return { applied, changed };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

/** Versions present on disk but not applied in the database (readiness check). */
export async function pendingMigrations(pool: pg.Pool, dir = defaultMigrationsDir()): Promise<string[]> {
  const files = readMigrations(dir);
  let applied: Set<string>;
  try {
    applied = new Set(
      (await pool.query<{ version: string }>('select version from gateway_migrations')).rows.map((r) => r.version),
    );
  } catch (e) {
    if ((e as { code?: string }).code === '42P01') return files.map((f) => `${f.version}_${f.name}`);
    throw e;
  }
  return files.filter((f) => !applied.has(f.version)).map((f) => `${f.version}_${f.name}`);
}
