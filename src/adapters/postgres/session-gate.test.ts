import { serialize } from 'pg-protocol';
import { createSessionGate, endsIdle } from './session-gate';

/** A backend answer: some messages, then ReadyForQuery with `status` (or none, after a Flush). */
function answer(status: 'I' | 'T' | 'E' | undefined, body = 'x'): Uint8Array {
  const complete = Buffer.concat([Buffer.from('C'), Buffer.alloc(4), Buffer.from(`${body}\0`)]);
  complete.writeUInt32BE(complete.length - 1, 1);
  const rfq = status ? Buffer.from([0x5a, 0, 0, 0, 5, status.charCodeAt(0)]) : Buffer.alloc(0);
  return Buffer.concat([complete, rfq]);
}

describe('endsIdle', () => {
  it('is true only when the answer ends with ReadyForQuery idle', () => {
    expect(endsIdle(answer('I'))).toBe(true);
    expect(endsIdle(answer('T'))).toBe(false);
    expect(endsIdle(answer('E'))).toBe(false);
    // After a Flush the exchange is not over: no ReadyForQuery.
    expect(endsIdle(answer(undefined))).toBe(false);
    expect(endsIdle(new Uint8Array(0))).toBe(false);
  });

  it('reads message boundaries, not bytes that look like ReadyForQuery', () => {
    // A CopyData message whose payload ends with the bytes of a ReadyForQuery idle message.
    const payload = Buffer.from([1, 2, 0x5a, 0, 0, 0, 5, 0x49]);
    const lookalike = Buffer.concat([Buffer.from([0x64, 0, 0, 0, 4 + payload.length]), payload]);
    expect(endsIdle(lookalike)).toBe(false);
    expect(endsIdle(Buffer.concat([answer('T'), answer('I')]))).toBe(true);
    expect(endsIdle(Buffer.concat([answer('I'), answer('T')]))).toBe(false);
  });
});

describe('createSessionGate', () => {
  /** A session whose answers are scripted per batch text; records the order batches ran in. */
  function session(script: Record<string, 'I' | 'T' | Error>) {
    const ran: string[] = [];
    let running = 0;
    let overlapped = false;
    const gate = createSessionGate(async (batch) => {
      const text = Buffer.from(batch).toString('latin1').slice(5).replace(/[^a-z0-9 ]/g, '');
      running++;
      if (running > 1) overlapped = true;
      await new Promise((r) => setTimeout(r, 2));
      running--;
      ran.push(text);
      const outcome = script[text] ?? 'I';
      if (outcome instanceof Error) throw outcome;
      return answer(outcome);
    });
    const q = (text: string) => serialize.query(text);
    return { gate, ran, q, overlapped: () => overlapped };
  }

  it('runs one batch at a time, in arrival order', async () => {
    const { gate, ran, q, overlapped } = session({});
    const a = {};
    const b = {};
    await Promise.all([gate.run(a, q('a1')), gate.run(b, q('b1')), gate.run(a, q('a2')), gate.run(b, q('b2'))]);
    expect(ran).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(overlapped()).toBe(false);
  });

  it('keeps the session for a connection inside a transaction until it is idle again', async () => {
    const { gate, ran, q } = session({ begin: 'T', insert: 'T' });
    const tx = {};
    const other = {};
    await gate.run(tx, q('begin'));
    // The other connection's batch arrives while the transaction is open: it waits.
    const waiting = gate.run(other, q('select'));
    await gate.run(tx, q('insert'));
    await gate.run(tx, q('commit'));
    await waiting;
    expect(ran).toEqual(['begin', 'insert', 'commit', 'select']);
  });

  it('lets the others through when the database fails under a transaction', async () => {
    const { gate, ran, q } = session({ begin: 'T', insert: new Error('the database thread failed') });
    const tx = {};
    const other = {};
    await gate.run(tx, q('begin'));
    const waiting = gate.run(other, q('select'));
    await expect(gate.run(tx, q('insert'))).rejects.toThrow('the database thread failed');
    await waiting;
    expect(ran).toEqual(['begin', 'insert', 'select']);
  });
});
