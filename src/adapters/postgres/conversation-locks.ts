import type pg from 'pg';
import type { ConversationLocks } from '../../domain/agent/agent.port';

/**
 * One answering worker per conversation.
 *
 * On a Postgres server: a session advisory lock held on a dedicated connection for the length
 * of the work (model call included). Any number of worker processes share it, and a crashed
 * process's lock goes with its connection. The key is a 64-bit hash of the conversation id.
 *
 * The embedded database has one connection shared by the whole process (and only one process
 * can open it), where advisory locks are re-entrant and would exclude nothing: an in-process
 * lock is the same guarantee there.
 */
export function createAdvisoryLocks(pool: pg.Pool): ConversationLocks {
  return {
    async tryWithLock(conversationId, fn) {
      const client = await pool.connect();
      let locked = false;
      try {
        const { rows } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtextextended('agent:' || $1, 0)) as ok", [conversationId]);
        locked = rows[0]?.ok === true;
        if (!locked) return { acquired: false };
        return { acquired: true, value: await fn() };
      } finally {
        if (locked) {
          await client
            .query("select pg_advisory_unlock(hashtextextended('agent:' || $1, 0))", [conversationId])
            .then(() => client.release(), (e: Error) => client.release(e));
        } else {
          client.release();
        }
      }
    },
  };
}

export function createInProcessLocks(): ConversationLocks {
  const held = new Set<string>();
  return {
    async tryWithLock(conversationId, fn) {
      if (held.has(conversationId)) return { acquired: false };
      held.add(conversationId);
      try {
        return { acquired: true, value: await fn() };
      } finally {
        held.delete(conversationId);
      }
    },
  };
}
