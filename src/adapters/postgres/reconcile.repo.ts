import type { ReconcileRepo, StuckOutbound } from '../../domain/reconcile/reconcile.port';
import type { Queryable } from './database';

export function createReconcileRepo(db: Queryable): ReconcileRepo {
  return {
    async unansweredConversations(storedBefore, limit) {
      // Only conversations the bot still owes an answer: bot mode (a handoff, a takeover or a
      // close moves the answered pointer or the mode), and an open window (the agent cannot send
      // free-form messages after it). The newest inbound message per conversation comes from
      // messages_inbound_unanswered_idx.
      const { rows } = await db.query<{ workspace_id: string; conversation_id: string; message_id: string }>(
        `select c.workspace_id, c.id as conversation_id, m.id as message_id
           from conversations c
           cross join lateral (
             select id, created_at from messages
              where conversation_id = c.id and direction = 'in'
              order by id desc limit 1
           ) m
          where c.mode = 'bot' and c.window_expires_at > now()
            and (c.last_answered_message_id is null or m.id > c.last_answered_message_id)
            and m.created_at < $1
          order by m.id
          limit $2`,
        [storedBefore, limit],
      );
      return rows.map((r) => ({ workspaceId: r.workspace_id, conversationId: r.conversation_id, messageId: r.message_id }));
    },

    async stuckOutbound({ queuedBefore, sendingBefore }, limit) {
      // messages_pending_out_idx (status, updated_at) serves both halves.
      const { rows } = await db.query<{ workspace_id: string; id: string; phone_number_id: string; recipient: string; status: StuckOutbound['status'] }>(
        `(select workspace_id, id, phone_number_id, recipient, status from messages
            where status = 'queued' and updated_at < $1 and direction = 'out' and recipient is not null
            order by updated_at limit $3)
         union all
         (select workspace_id, id, phone_number_id, recipient, status from messages
            where status = 'sending' and updated_at < $2 and direction = 'out' and recipient is not null
            order by updated_at limit $3)`,
        [queuedBefore, sendingBefore, limit],
      );
      return rows.map((r) => ({ workspaceId: r.workspace_id, messageId: r.id, numberId: r.phone_number_id, recipient: r.recipient, status: r.status }));
    },

    async undispatchedEvents(createdBefore) {
      const { rows } = await db.query<{ n: number }>(
        'select count(*)::int as n from events where dispatched_at is null and created_at < $1',
        [createdBefore],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
