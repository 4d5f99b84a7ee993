import type pg from 'pg';
import { MESSAGE_COLUMNS, messageView, type MessageRow } from '../../domain/messages/message-view';
import type { ClaimResult, OutboundRow, SendRepo } from '../../domain/messages/send.port';
import type { IngressRepo } from '../../domain/ingress/ingress.port';
import { withTransaction } from './database';
import { insertEvents } from './events.repo';

const OUT_COLUMNS = `${MESSAGE_COLUMNS
  .split(', ')
  .map((c) => `m.${c}`)
  .join(', ')}, m.recipient, m.graph_body, m.send_attempts, n.phone_number_id as meta_phone_number_id`;

export function createSendRepo(pool: pg.Pool, ingress: Pick<IngressRepo, 'applyPendingStatuses'>): SendRepo {
  return {
    async claim(messageId) {
      // The common case in one statement: queued -> sending, only while a bot message's
      // conversation is in bot mode (the architecture's invariant, checked at the moment of sending).
      // The one exception is the bot's handoff notice ("a person will answer you shortly"): it
      // goes out while the conversation waits for a person, but not once a person has taken over.
      const claimed = await pool.query<OutboundRow>(
        `update messages m set status = 'sending', send_attempts = m.send_attempts + 1, updated_at = now()
           from conversations c, phone_numbers n
          where m.id = $1 and m.direction = 'out' and m.status = 'queued'
            and c.id = m.conversation_id and n.id = m.phone_number_id
            and (m.author <> 'bot' or c.mode = 'bot' or (c.mode = 'pending_human' and m.answer->>'kind' = 'handoff'))
          returning ${OUT_COLUMNS}`,
        [messageId],
      );
      if (claimed.rows[0]) return { outcome: 'claimed', row: claimed.rows[0] };
      // Why not: gone, already done, in flight (unknown outcome), or a bot message to cancel.
      return withTransaction(pool, async (db): Promise<ClaimResult> => {
        const { rows } = await db.query<OutboundRow & { mode: string; handoff_notice: boolean }>(
          `select ${OUT_COLUMNS}, c.mode, coalesce(m.answer->>'kind' = 'handoff', false) as handoff_notice from messages m
             join conversations c on c.id = m.conversation_id
             join phone_numbers n on n.id = m.phone_number_id
            where m.id = $1 and m.direction = 'out' for update of m`,
          [messageId],
        );
        const row = rows[0];
        if (!row) return { outcome: 'missing' };
        if (row.status === 'sending') return { outcome: 'unknown', row };
        if (row.status !== 'queued') return { outcome: 'done', status: row.status };
        if (row.author === 'bot' && row.mode !== 'bot' && !(row.mode === 'pending_human' && row.handoff_notice)) {
          await db.query("update messages set status = 'cancelled', updated_at = now() where id = $1", [messageId]);
          return { outcome: 'cancelled' };
        }
        // Queued again since the update above (a requeue raced us): claim it now, under the lock.
        await db.query("update messages set status = 'sending', send_attempts = send_attempts + 1, updated_at = now() where id = $1", [messageId]);
        return { outcome: 'claimed', row: { ...row, status: 'sending', send_attempts: row.send_attempts + 1 } };
      });
    },

    async markSent(messageId, wamid) {
      return withTransaction(pool, async (db) => {
        // Also says whether statuses for this wamid arrived before it (rare: then the caller
        // applies them), so the common case costs no extra transaction.
        const { rows } = await db.query<MessageRow & { has_pending: boolean }>(
          `update messages set status = 'sent', wamid = $2, sent_at = now(), updated_at = now()
            where id = $1 and status in ('sending', 'queued')
            returning ${MESSAGE_COLUMNS},
              exists (select 1 from pending_statuses p where p.phone_number_id = messages.phone_number_id and p.wamid = $2) as has_pending`,
          [messageId, wamid],
        );
        const row = rows[0];
        if (row) {
          await insertEvents(db, [{ workspaceId: row.workspace_id, type: 'message.sent', conversationId: row.conversation_id, data: { message: messageView(row) } }]);
        }
        return { pendingStatuses: Boolean(row?.has_pending) };
      });
    },

    async markFailed(messageId, error, closeWindow) {
      await withTransaction(pool, async (db) => {
        const { rows } = await db.query<MessageRow>(
          `update messages set status = 'failed', error_code = $2, error_title = $3, error_details = $4, updated_at = now()
            where id = $1 and status in ('sending', 'queued') returning ${MESSAGE_COLUMNS}`,
          [messageId, error.code, error.title, error.details],
        );
        const row = rows[0];
        if (!row) return;
        if (closeWindow) {
          // Meta is authoritative on the window (131047): it is closed, whatever we computed.
          await db.query('update conversations set window_expires_at = least(window_expires_at, now()), updated_at = now() where id = $1', [row.conversation_id]);
        }
        await insertEvents(db, [{ workspaceId: row.workspace_id, type: 'message.failed', conversationId: row.conversation_id, data: { message: messageView(row) } }]);
      });
    },

    async requeue(messageId) {
      await pool.query("update messages set status = 'queued', updated_at = now() where id = $1 and status = 'sending'", [messageId]);
    },

    applyPendingStatuses: (phoneNumberId, wamid) => ingress.applyPendingStatuses(phoneNumberId, wamid),
  };
}
