import type pg from 'pg';
import { MESSAGE_COLUMNS, messageView, type MessageRow } from '../../domain/messages/message-view';
import type { ClaimResult, OutboundRow, SendRepo } from '../../domain/messages/send.port';
import type { IngressRepo } from '../../domain/ingress/ingress.port';
import { createGroupCommit } from '../../domain/ingress/group-commit';
import { withTransaction } from './database';
import { insertEvents } from './events.repo';
import { newId } from '../../lib/ids';

const OUT_COLUMNS = `${MESSAGE_COLUMNS
  .split(', ')
  .map((c) => `m.${c}`)
  .join(', ')}, m.recipient, m.graph_body, m.send_attempts, n.phone_number_id as meta_phone_number_id`;


export function createSendRepo(pool: pg.Pool, ingress: Pick<IngressRepo, 'applyPendingStatuses'>): SendRepo {
  // Claims and sends recorded by concurrent jobs are written together: one statement claims a
  // group, one statement records a group's sends and their events (see group-commit.ts). Each
  // row still moves on its own conditions, so a group changes no outcome, only the number of
  // statements; a failed group is retried one by one. The embedded database has one connection.
  const concurrency = Math.max(1, Math.min(4, (pool.options.max ?? 10) - 2));
  const claims = createGroupCommit(
    async (ids: string[]): Promise<(OutboundRow | undefined)[]> => {
      // The common case: queued -> sending, only while a bot message's conversation is in bot
      // mode (the architecture's invariant, checked at the moment of sending). The one exception
      // is the bot's handoff notice ("a person will answer you shortly"): it goes out while the
      // conversation waits for a person, but not once a person has taken over.
      // Named statements: planned once per connection, not for every message.
      const { rows } = await pool.query<OutboundRow>({
        name: 'send-claim-group',
        text: `update messages m set status = 'sending', send_attempts = m.send_attempts + 1, updated_at = now()
           from conversations c, phone_numbers n
          where m.id = any($1::text[]) and m.direction = 'out' and m.status = 'queued'
            and c.id = m.conversation_id and n.id = m.phone_number_id
            and (m.author <> 'bot' or c.mode = 'bot' or (c.mode = 'pending_human' and m.answer->>'kind' = 'handoff'))
          returning ${OUT_COLUMNS}`,
        values: [[...new Set(ids)].sort()],
      });
      // A row goes to the first claimant of its id; a second one in the same group takes the
      // slow path below and finds it in flight, as it would one statement later.
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => {
        const row = byId.get(id);
        byId.delete(id);
        return row;
      });
    },
    { maxBatch: 256, concurrency },
  );
  const sends = createGroupCommit(
    async (items: { row: OutboundRow; wamid: string }[]): Promise<{ pendingStatuses: boolean }[]> => {
      // One statement records a group's sends and writes their message.sent events: no
      // transaction round trips. The event carries the row as it is after the update, which is
      // the claimed row with the changes made here (the sending job owns the row until then).
      const at = new Date();
      const { rows } = await pool.query<{ id: string; has_pending: boolean }>({
        name: 'send-mark-sent-group',
        text: `with v as (select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) as v(id, wamid, event_id, data)),
         sent as (
           update messages set status = 'sent', wamid = v.wamid, sent_at = $5, updated_at = $5
             from v
            where messages.id = v.id and messages.status in ('sending', 'queued')
            returning messages.id, messages.workspace_id, messages.conversation_id,
              -- Statuses for this wamid that arrived before it (rare: the caller then applies them).
              exists (select 1 from pending_statuses p where p.phone_number_id = messages.phone_number_id and p.wamid = v.wamid) as has_pending),
         ev as (
           insert into events (id, workspace_id, type, conversation_id, data)
           select v.event_id, sent.workspace_id, 'message.sent', sent.conversation_id, v.data from sent join v on v.id = sent.id)
         select id, has_pending from sent`,
        values: [
          items.map((i) => i.row.id),
          items.map((i) => i.wamid),
          items.map(() => newId('event')),
          items.map((i) => JSON.stringify({ message: messageView({ ...i.row, status: 'sent', wamid: i.wamid, updated_at: at }) })),
          at,
        ],
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return items.map((i) => ({ pendingStatuses: Boolean(byId.get(i.row.id)?.has_pending) }));
    },
    { maxBatch: 256, concurrency },
  );

  return {
    async claim(messageId) {
      const claimed = await claims.submit(messageId);
      if (claimed) return { outcome: 'claimed', row: claimed };
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

    markSent: (row, wamid) => sends.submit({ row, wamid }),

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
