import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../src/adapters/postgres/database';
import { defaultMigrationsDir, migrate, pendingMigrations, readMigrations } from '../../src/adapters/postgres/migrator';
import { createTestDatabase, type TestDatabase } from '../support/database';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('apply once, record themselves, and are a no-op the second time', async () => {
    const all = readMigrations(defaultMigrationsDir()).map((m) => `${m.version}_${m.name}`);
    expect(await pendingMigrations(db.pool)).toEqual(all);
    expect((await migrate(db.pool)).applied).toEqual(all);
    expect((await migrate(db.pool)).applied).toEqual([]);
    expect(await pendingMigrations(db.pool)).toEqual([]);
    const { rows } = await db.pool.query('select version from gateway_migrations order by version');
    expect(rows.map((r: { version: string }) => r.version)).toEqual(all.map((v) => v.slice(0, 14)));
  });

  it('are safe when several runners start at once', async () => {
    const fresh = await createTestDatabase();
    try {
      // On a server, separate pools are separate sessions: the advisory lock is what serialises them.
      const pools = fresh.url
        ? [1, 2, 3].map(() => new pg.Pool({ connectionString: fresh.url, max: 2 }))
        : [fresh.pool, fresh.pool, fresh.pool];
      const results = await Promise.all(pools.map((p) => migrate(p)));
      if (fresh.url) await Promise.all(pools.map((p) => p.end()));
      const appliedCounts = results.map((r) => r.applied.length);
      expect(appliedCounts.filter((n) => n > 0)).toHaveLength(1);
      const { rows } = await fresh.pool.query('select count(*)::int as n from gateway_migrations');
      expect(rows[0].n).toBe(readMigrations(defaultMigrationsDir()).length);
    } finally {
      await fresh.close();
    }
  });

  it('roll back a failing migration whole and report it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-mig-'));
    fs.writeFileSync(path.join(dir, '20990101000000_good.sql'), 'create table mig_good (id int);');
    fs.writeFileSync(path.join(dir, '20990101000001_bad.sql'), 'create table mig_bad (id int); select nonsense_fn();');
    const scratch = await createDatabase({ dataDir: 'memory://' });
    try {
      await expect(migrate(scratch.pool, dir)).rejects.toThrow(/20990101000001_bad failed/);
      const tables = await scratch.pool.query(
        "select table_name from information_schema.tables where table_name in ('mig_good', 'mig_bad')",
      );
      expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(['mig_good']);
      expect(await pendingMigrations(scratch.pool, dir)).toEqual(['20990101000001_bad']);
    } finally {
      await scratch.close();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('refuse files not named YYYYMMDDHHMMSS_name.sql', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-mig-'));
    fs.writeFileSync(path.join(dir, '1_init.sql'), 'select 1;');
    expect(() => readMigrations(dir)).toThrow(/is not YYYYMMDDHHMMSS_name.sql/);
    fs.rmSync(dir, { recursive: true });
  });

  describe('the schema', () => {
    beforeAll(async () => {
      await migrate(db.pool);
    });

    const tables = async (): Promise<string[]> =>
      (
        await db.pool.query(
          "select tablename from pg_tables where schemaname = 'public' and tablename <> 'gateway_migrations' order by 1",
        )
      ).rows.map((r: { tablename: string }) => r.tablename);

    it('has row level security on every table', async () => {
      const { rows } = await db.pool.query(
        "select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' and relname <> 'gateway_migrations'",
      );
      expect(rows.length).toBeGreaterThanOrEqual(15);
      expect(rows.filter((r: { relrowsecurity: boolean }) => !r.relrowsecurity)).toEqual([]);
    });

    it('has workspace_id NOT NULL on every tenant table', async () => {
      // Not tenant tables: workspaces itself, and the live stream's single global counter row.
      for (const table of (await tables()).filter((t) => !['workspaces', 'event_stream_state'].includes(t))) {
        const { rows } = await db.pool.query(
          "select is_nullable from information_schema.columns where table_name = $1 and column_name = 'workspace_id'",
          [table],
        );
        expect({ table, nullable: rows[0]?.is_nullable }).toEqual({ table, nullable: 'NO' });
      }
    });

    it('carries the invariants: one message per (number, wamid), enums checked, tenants not crossed', async () => {
      const q = (sql: string, params: unknown[] = []) => db.pool.query(sql, params);
      await q("insert into workspaces (id, name) values ('ws_a', 'A'), ('ws_b', 'B')");
      await q(`insert into phone_numbers (id, workspace_id, phone_number_id, waba_id, access_token_enc, app_secret_enc, verify_token_enc)
               values ('num_a', 'ws_a', '111', '1', 'v1.x', 'v1.x', 'v1.x')`);
      await q("insert into contacts (id, workspace_id, wa_id) values ('ct_a', 'ws_a', '15550001'), ('ct_b', 'ws_b', '15550002')");
      await q("insert into conversations (id, workspace_id, phone_number_id, contact_id) values ('conv_a', 'ws_a', 'num_a', 'ct_a')");
      const msg = (id: string, wamid: string) =>
        q(`insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, wamid, type, author, status)
           values ($1, 'ws_a', 'conv_a', 'num_a', 'in', $2, 'text', 'customer', 'received')`, [id, wamid]);
      await msg('msg_1', 'wamid.1');
      await expect(msg('msg_2', 'wamid.1')).rejects.toMatchObject({ code: '23505' });
      // A conversation of workspace B cannot point at workspace A's number or contact.
      await expect(
        q("insert into conversations (id, workspace_id, phone_number_id, contact_id) values ('conv_x', 'ws_b', 'num_a', 'ct_b')"),
      ).rejects.toMatchObject({ code: '23503' });
      await expect(q("update conversations set mode = 'robot' where id = 'conv_a'")).rejects.toMatchObject({ code: '23514' });
      // Human mode needs an assignee.
      await expect(q("update conversations set mode = 'human' where id = 'conv_a'")).rejects.toMatchObject({ code: '23514' });
      await expect(q("update messages set status = 'sent' where id = 'msg_1'")).rejects.toMatchObject({ code: '23514' });
      await expect(
        q(`insert into phone_numbers (id, workspace_id, phone_number_id, waba_id, access_token_enc, app_secret_enc, verify_token_enc)
           values ('num_p', 'ws_a', '222', '1', 'EAAG-plaintext', 'v1.x', 'v1.x')`),
      ).rejects.toMatchObject({ code: '23514' });
    });

    it('indexes chunk embeddings with HNSW (cosine) and the tsvector with GIN', async () => {
      const { rows } = await db.pool.query("select indexdef from pg_indexes where tablename = 'knowledge_chunks'");
      const defs = rows.map((r: { indexdef: string }) => r.indexdef).join('\n');
      expect(defs).toMatch(/USING hnsw \(embedding vector_cosine_ops\)/);
      expect(defs).toMatch(/USING gin \(tsv\)/);
    });
  });
});
