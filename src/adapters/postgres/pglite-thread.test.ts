import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { planIngress, type IngressPlan } from '../../domain/ingress/plan';
import { envelopeSchema } from '../../domain/ingress/webhook.schema';
import { createTenancyService } from '../../domain/tenancy/tenancy.service';
import { createSecretBox } from '../../lib/secret-box';
import { statusPayload, textPayload, uniqueWamid } from '../../../test/support/meta';
import { createDatabase, type Database } from './database';
import { defaultMigrationsDir, migrate } from './migrator';
import { createPhoneNumbersRepo } from './phone-numbers.repo';
import { createWorkspacesRepo } from './workspaces.repo';

type ThreadDatabase = Database & { thread: Worker; commitIngress: NonNullable<Database['commitIngress']> };

async function open(dataDir: string, onFailure?: (e: Error) => void): Promise<ThreadDatabase> {
  return (await createDatabase({ dataDir, thread: true, onFailure })) as ThreadDatabase;
}

/** A migrated database with one number; `plan()` makes a delivery of one new text message. */
async function setUp(db: Database) {
  await migrate(db.pool, defaultMigrationsDir());
  const tenancy = createTenancyService({ workspaces: createWorkspacesRepo(db.pool), numbers: createPhoneNumbersRepo(db.pool), secrets: createSecretBox(randomBytes(32)) });
  const ws = await tenancy.createWorkspace({ name: 'Thread Shop' });
  const n = await tenancy.addNumber({
    workspaceId: ws.id,
    phoneNumberId: '106540352242922',
    wabaId: '102290129340398',
    displayNumber: '+1 555 078 3881',
    accessToken: 'token',
    appSecret: 'secret',
    verifyToken: 'verify',
    source: 'cli',
  });
  const number = { id: n.id, workspaceId: ws.id, phoneNumberId: '106540352242922', wabaId: '102290129340398' };
  const numbers = new Map([[number.phoneNumberId, number]]);
  const plan = (wamid = uniqueWamid()): IngressPlan => planIngress(envelopeSchema.parse(textPayload({ wamid })), numbers, new Map());
  /** Statuses of messages we have not sent: each is a few statements of the group's transaction. */
  const statuses = (wamids: string[]): IngressPlan =>
    planIngress(envelopeSchema.parse(statusPayload(wamids.map((wamid) => ({ wamid, status: 'delivered' })))), numbers, new Map());
  return { plan, statuses };
}

const settled = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('the embedded database on its own thread', () => {
  let db: ThreadDatabase;
  let plan: (wamid?: string) => IngressPlan;
  let statuses: (wamids: string[]) => IngressPlan;
  beforeAll(async () => {
    db = await open('memory://');
    ({ plan, statuses } = await setUp(db));
  });
  afterAll(async () => {
    await db.close();
  });

  const stored = async (wamid: string) =>
    (await db.pool.query<{ n: number }>('select count(*)::int as n from messages where wamid = $1', [wamid])).rows[0]?.n;

  it('commits a group of deliveries there, one result per delivery', async () => {
    const a = uniqueWamid();
    const b = uniqueWamid();
    const { results, redriven } = await db.commitIngress([plan(a), plan(b), plan(a)], false);
    expect(results.map((r) => [r.stored, r.duplicates])).toEqual([[1, 0], [1, 0], [0, 1]]);
    expect(redriven).toEqual([]);
    expect(await stored(a)).toBe(1);
    expect(await stored(b)).toBe(1);
  });

  it("keeps the ingress out of the event loop's open transaction: the group waits, then commits on its own", async () => {
    const wamid = uniqueWamid();
    const c = await db.pool.connect();
    await c.query('begin');
    await c.query("create table scratch_rolled_back (x int)");
    const commit = db.commitIngress([plan(wamid)], false);
    expect(await settled(commit, 300)).toBe(false);
    await c.query('rollback');
    c.release();
    expect((await commit).results[0]?.stored).toBe(1);
    expect(await stored(wamid)).toBe(1);
    expect((await db.pool.query("select to_regclass('scratch_rolled_back') as t")).rows[0].t).toBeNull();
  });

  it("and the event loop's statements wait while a group's transaction holds the session", async () => {
    // A group of many round trips (a statement or three per status), then its message.
    const wamid = uniqueWamid();
    const unknown = Array.from({ length: 100 }, () => uniqueWamid());
    const commit = db.commitIngress([statuses(unknown), plan(wamid)], false);
    const seen: { pending: number; stored: number }[] = [];
    while (!(await settled(commit, 0))) {
      // Were they to run inside the group's transaction, they would see it half-done.
      const { rows } = await db.pool.query<{ pending: number; stored: number }>(
        `select (select count(*)::int from pending_statuses where wamid = any($1::text[])) as pending,
                (select count(*)::int from messages where wamid = $2) as stored`,
        [unknown, wamid],
      );
      seen.push(rows[0] as { pending: number; stored: number });
    }
    await commit;
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect([{ pending: 0, stored: 0 }, { pending: 100, stored: 1 }]).toContainEqual(s);
    expect(await stored(wamid)).toBe(1);
  });

  it("keeps each side's prepared statements apart (the session is one)", async () => {
    // The ingress's batch statement is named 'ingress-batch' on its side of the session.
    await db.pool.query({ name: 'ingress-batch', text: 'select 1 as one' });
    const wamid = uniqueWamid();
    await db.commitIngress([plan(wamid)], false);
    expect((await db.pool.query({ name: 'ingress-batch', text: 'select 1 as one' })).rows).toEqual([{ one: 1 }]);
    expect(await stored(wamid)).toBe(1);
  });

  it('fails a group of deliveries alone: the others of the same turn are committed', async () => {
    const good = uniqueWamid();
    const bad = plan();
    // A contact the database refuses (its name is not text it can store).
    (bad.inbound[0] as { contact: { name: string } }).contact.name = 'nul \u0000 byte';
    const [ok, failed] = await Promise.allSettled([db.commitIngress([plan(good)], false), db.commitIngress([bad], false)]);
    expect(ok.status).toBe('fulfilled');
    expect(failed).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/0x00|null character/) } });
    expect(await stored(good)).toBe(1);
  });
});

describe('the database thread, stopped or restarted', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-thread-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps what it committed on disk for the next start', async () => {
    const first = await open(path.join(dir, 'pglite'));
    const { plan } = await setUp(first);
    const wamid = uniqueWamid();
    await first.commitIngress([plan(wamid)], false);
    await first.close();
    const again = await createDatabase({ dataDir: path.join(dir, 'pglite') });
    try {
      expect((await again.pool.query('select count(*)::int as n from messages where wamid = $1', [wamid])).rows[0].n).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('fails what was waiting and what comes after with the reason, and says so once', async () => {
    const errors: Error[] = [];
    const db = await open(path.join(dir, 'pglite'), (e) => errors.push(e));
    const { plan } = await setUp(db);
    const c = await db.pool.connect();
    await c.query('begin');
    const waiting = db.commitIngress([plan()], false);
    await db.thread.terminate();
    await expect(waiting).rejects.toThrow(/embedded database thread exited/);
    await expect(c.query('select 1')).rejects.toThrow(/embedded database thread exited/);
    c.release(new Error('gone'));
    await expect(db.pool.query('select 1')).rejects.toThrow(/embedded database thread exited/);
    await expect(db.commitIngress([plan()], false)).rejects.toThrow(/embedded database thread exited/);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/embedded database thread exited/)]);
    await db.close();
  });
});
