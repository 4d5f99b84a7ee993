import { createDatabase, type Database } from './database';

describe.each([
  ['on the calling thread', false],
  ['on its own thread', true],
])('embedded database through node-postgres, %s', (_where, thread) => {
  let db: Database;
  beforeAll(async () => {
    db = await createDatabase({ dataDir: 'memory://', thread });
    await db.pool.query(`
      create table parent (w text, id text, primary key (w, id));
      create table child (id text primary key, w text, p text, foreign key (w, p) references parent (w, id));
      insert into parent values ('w1', 'p1');`);
  });
  afterAll(async () => {
    await db.close();
  });

  it('survives errors in parameterised statements, again and again', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(db.pool.query('insert into child values ($1, $2, $3)', ['c1', 'w2', 'p1'])).rejects.toMatchObject({
        code: '23503',
      });
    }
    await expect(db.pool.query('select $1::int', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    const { rows } = await db.pool.query('select $1::int as n', [7]);
    expect(rows).toEqual([{ n: 7 }]);
  });

  it('keeps a transaction usable after a failed statement is rolled back', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('begin');
      await c.query('insert into parent values ($1, $2)', ['w', 'x']);
      await expect(c.query('insert into parent values ($1, $2)', ['w', 'x'])).rejects.toMatchObject({ code: '23505' });
      await c.query('rollback');
    } finally {
      c.release();
    }
    const { rows } = await db.pool.query("select count(*)::int as n from parent where w = 'w'");
    expect(rows[0].n).toBe(0);
  });

  it('round-trips the types we store', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const { rows } = await db.pool.query(
      'select $1::jsonb as j, $2::text[] as a, $3::timestamptz as t, 9007199254740::bigint as b',
      [{ k: ['v'] }, ['x', 'y'], at],
    );
    expect(rows[0]).toEqual({ j: { k: ['v'] }, a: ['x', 'y'], t: at, b: 9007199254740 });
  });

  it('serialises concurrent queries on its single connection', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => db.pool.query('select $1::int as i', [i])));
    expect(results.map((r) => r.rows[0].i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('rolls back what a client released with an error left open, as a server does', async () => {
    const c = await db.pool.connect();
    await c.query('begin');
    await c.query('insert into parent values ($1, $2)', ['w', 'left-open']);
    // pg's pool ends such a client; the session (there is one) serves the next client.
    c.release(new Error('the caller gave up'));
    const { rows } = await db.pool.query("select count(*)::int as n from parent where id = 'left-open'");
    expect(rows[0].n).toBe(0);
    // And that client is not inside a transaction: what it writes stays.
    await db.pool.query('insert into parent values ($1, $2)', ['w', 'kept']);
    const next = await db.pool.connect();
    try {
      expect((await next.query("select count(*)::int as n from parent where id = 'kept'")).rows[0].n).toBe(1);
    } finally {
      next.release();
    }
  });
});
