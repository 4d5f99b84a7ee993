import type pg from 'pg';
import type { NewEvent } from '../../domain/events/events.port';
import type { DispatchItem, IngressRepo, MediaItem, PersistResult } from '../../domain/ingress/ingress.port';
import { isMediaType } from '../../domain/ingress/normalize';
import type { IngressPlan, InboundItem, StatusItem, TemplateItem } from '../../domain/ingress/plan';
import { MESSAGE_COLUMNS, messageView, type MessageRow } from '../../domain/messages/message-view';
import { newId } from '../../lib/ids';
import { withTransaction, type Queryable } from './database';
import { insertEvents } from './events.repo';

const WINDOW = "interval '24 hours'";

// Rank of the outbound states; a status only moves forward. failed is terminal, and only a
// message not yet delivered can fail.
const RANK = "array_position(array['queued','sending','sent','delivered','read']::text[], status)";
const RANK_OF = (p: string) => `array_position(array['queued','sending','sent','delivered','read']::text[], ${p})`;

const TEMPLATE_STATUSES = new Set([
  'APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED', 'IN_APPEAL', 'PENDING_DELETION', 'DELETED', 'ARCHIVED', 'LIMIT_EXCEEDED',
]);

async function upsertContact(db: Queryable, item: InboundItem): Promise<string> {
  const { number, contact } = item;
  const target = contact.waId !== undefined ? '(workspace_id, wa_id) where wa_id is not null' : '(workspace_id, user_id) where user_id is not null';
  const { rows } = await db.query<{ id: string }>(
    `insert into contacts (id, workspace_id, wa_id, user_id, profile_name) values ($1, $2, $3, $4, $5)
     on conflict ${target} do update set
       profile_name = coalesce(excluded.profile_name, contacts.profile_name),
       user_id = coalesce(contacts.user_id, excluded.user_id),
       updated_at = now()
     returning id`,
    [newId('contact'), number.workspaceId, contact.waId ?? null, contact.userId ?? null, contact.name ?? null],
  );
  return (rows[0] as { id: string }).id;
}

async function upsertConversation(db: Queryable, workspaceId: string, numberId: string, contactId: string) {
  const { rows } = await db.query<{ id: string; created: boolean }>(
    `insert into conversations (id, workspace_id, phone_number_id, contact_id) values ($1, $2, $3, $4)
     on conflict (phone_number_id, contact_id) do update set phone_number_id = excluded.phone_number_id
     returning id, (xmax = 0) as created`,
    [newId('conversation'), workspaceId, numberId, contactId],
  );
  return rows[0] as { id: string; created: boolean };
}

async function storeInbound(db: Queryable, item: InboundItem, result: PersistResult, events: NewEvent[]): Promise<void> {
  const { number, message } = item;
  const contactId = await upsertContact(db, item);
  const conversation = await upsertConversation(db, number.workspaceId, number.id, contactId);
  if (conversation.created) {
    events.push({
      workspaceId: number.workspaceId,
      type: 'conversation.created',
      conversationId: conversation.id,
      data: { conversation_id: conversation.id, phone_number_id: number.id, contact: { wa_id: item.contact.waId ?? null, name: item.contact.name ?? null } },
    });
  }
  // Inbound media get our id in their content, so API users can fetch them from /v1/media/:id.
  const mediaId = message.content.media && isMediaType(message.type) ? newId('media') : undefined;
  if (mediaId && message.content.media) message.content.media.media_id = mediaId;
  const inserted = await db.query<MessageRow>(
    `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, wamid, type, content, raw,
       author, status, meta_timestamp, reply_to_wamid, dispatch_pending)
     values ($1, $2, $3, $4, 'in', $5, $6, $7, $8, $9, 'received', $10, $11, $12)
     on conflict (phone_number_id, wamid) do nothing
     returning ${MESSAGE_COLUMNS}`,
    [
      newId('message'),
      number.workspaceId,
      conversation.id,
      number.id,
      message.wamid,
      message.type,
      JSON.stringify(message.content),
      JSON.stringify(message.raw),
      message.type === 'system' ? 'system' : 'customer',
      message.timestamp,
      message.content.context?.message_id ?? null,
      message.needsAnswer,
    ],
  );
  const row = inserted.rows[0];
  if (!row) {
    // Meta retried. If the first attempt stored the row but could not enqueue, do it now.
    result.duplicates++;
    const { rows } = await db.query<{ id: string; conversation_id: string }>(
      'select id, conversation_id from messages where phone_number_id = $1 and wamid = $2 and dispatch_pending',
      [number.id, message.wamid],
    );
    for (const r of rows) result.dispatch.push({ workspaceId: number.workspaceId, conversationId: r.conversation_id, messageId: r.id });
    return;
  }
  result.stored++;
  await db.query(
    `update conversations set
       last_inbound_at = case when $2 then greatest(last_inbound_at, $3::timestamptz) else last_inbound_at end,
       window_expires_at = case when $2 then greatest(window_expires_at, $3::timestamptz + ${WINDOW}) else window_expires_at end,
       last_activity_at = greatest(last_activity_at, now()),
       updated_at = now()
     where id = $1`,
    [conversation.id, message.refreshesWindow, message.timestamp],
  );
  if (message.needsAnswer) {
    result.dispatch.push({ workspaceId: number.workspaceId, conversationId: conversation.id, messageId: row.id });
    result.newInbound.push({ workspaceId: number.workspaceId, phoneNumberId: number.id, wamid: message.wamid });
  }
  if (mediaId && message.content.media) {
    await db.query(
      `insert into media (id, workspace_id, message_id, meta_media_id, mime_type, sha256) values ($1, $2, $3, $4, $5, $6)
       on conflict (message_id, meta_media_id) do nothing`,
      [mediaId, number.workspaceId, row.id, message.content.media.id, message.content.media.mime_type ?? null, message.content.media.sha256 ?? null],
    );
    result.media.push({ workspaceId: number.workspaceId, mediaId, messageId: row.id, phoneNumberId: number.id });
  }
  events.push({
    workspaceId: number.workspaceId,
    type: 'message.received',
    conversationId: conversation.id,
    data: { message: messageView(row), contact: { wa_id: item.contact.waId ?? null, name: item.contact.name ?? null } },
  });
}

interface StatusTarget {
  workspaceId: string;
  numberId: string;
  wamid: string;
  status: StatusItem['status'];
  timestamp: Date | null;
  error: StatusItem['error'];
  pricing: StatusItem['pricing'];
}

/** Moves one outbound message forward; returns 'applied', 'stale' (known, no change) or 'unknown'. */
async function applyStatus(db: Queryable, s: StatusTarget, events: NewEvent[]): Promise<'applied' | 'stale' | 'unknown'> {
  if (s.pricing && (s.pricing.category || s.pricing.type)) {
    await db.query(
      `update messages set pricing_category = coalesce($3, pricing_category), pricing_type = coalesce($4, pricing_type)
        where phone_number_id = $1 and wamid = $2 and direction = 'out'`,
      [s.numberId, s.wamid, s.pricing.category ?? null, s.pricing.type ?? null],
    );
  }
  const transition =
    s.status === 'failed'
      ? "status in ('queued', 'sending', 'sent')"
      : `status not in ('failed', 'cancelled') and ${RANK} < ${RANK_OF('$3::text')}`;
  const { rows } = await db.query<MessageRow>(
    `update messages set status = $3, updated_at = now(),
        error_code = coalesce($4, error_code), error_title = coalesce($5, error_title), error_details = coalesce($6, error_details)
      where phone_number_id = $1 and wamid = $2 and direction = 'out' and ${transition}
      returning ${MESSAGE_COLUMNS}`,
    [
      s.numberId,
      s.wamid,
      s.status,
      s.status === 'failed' ? (s.error?.code ?? 0) : null,
      s.status === 'failed' ? (s.error?.title ?? s.error?.message ?? null) : null,
      s.status === 'failed' ? (s.error?.error_data?.details ?? null) : null,
    ],
  );
  const row = rows[0];
  if (row) {
    events.push({
      workspaceId: s.workspaceId,
      type: `message.${s.status}`,
      conversationId: row.conversation_id,
      data: { message: messageView(row), status_timestamp: s.timestamp?.toISOString() ?? null },
    });
    return 'applied';
  }
  const exists = await db.query('select 1 from messages where phone_number_id = $1 and wamid = $2', [s.numberId, s.wamid]);
  return exists.rowCount ? 'stale' : 'unknown';
}

async function storeStatus(db: Queryable, item: StatusItem, result: PersistResult, events: NewEvent[]): Promise<void> {
  const target: StatusTarget = {
    workspaceId: item.number.workspaceId,
    numberId: item.number.id,
    wamid: item.wamid,
    status: item.status,
    timestamp: item.timestamp,
    error: item.error,
    pricing: item.pricing,
  };
  const outcome = await applyStatus(db, target, events);
  if (outcome === 'unknown') {
    await db.query(
      `insert into pending_statuses (phone_number_id, wamid, status, workspace_id, payload, meta_timestamp)
       values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
      [item.number.id, item.wamid, item.status, item.number.workspaceId, JSON.stringify(item.raw), item.timestamp],
    );
    result.statusesDeferred++;
  } else if (outcome === 'applied') {
    result.statusesApplied++;
  }
}

async function storeTemplate(db: Queryable, t: TemplateItem, events: NewEvent[]): Promise<void> {
  const status = t.event === 'REINSTATED' ? 'APPROVED' : TEMPLATE_STATUSES.has(t.event) ? t.event : null;
  const { rows } = await db.query<{ id: string }>(
    `update templates set status = coalesce($5, status), meta_template_id = coalesce(meta_template_id, $2), updated_at = now()
      where workspace_id = $1 and (meta_template_id = $2 or (waba_id = $3 and name = $4 and language = $6))
      returning id`,
    [t.workspaceId, t.metaTemplateId, t.wabaId, t.name ?? null, status, t.language ?? null],
  );
  events.push({
    workspaceId: t.workspaceId,
    type: 'template.status_updated',
    data: {
      template_id: rows[0]?.id ?? null,
      meta_template_id: t.metaTemplateId,
      waba_id: t.wabaId,
      name: t.name ?? null,
      language: t.language ?? null,
      event: t.event,
      status,
      reason: t.reason ?? null,
      category: t.category ?? null,
    },
  });
}

const emptyResult = (): PersistResult => ({
  stored: 0,
  duplicates: 0,
  dispatch: [],
  media: [],
  newInbound: [],
  statusesApplied: 0,
  statusesDeferred: 0,
});

export function createIngressRepo(pool: pg.Pool): IngressRepo {
  return {
    async persist(plan: IngressPlan) {
      return withTransaction(pool, async (db) => {
        const result = emptyResult();
        const events: NewEvent[] = [];
        // Oldest first, so the transcript and the window are built in Meta's order.
        const inbound = [...plan.inbound].sort((a, b) => a.message.timestamp.getTime() - b.message.timestamp.getTime());
        for (const item of inbound) await storeInbound(db, item, result, events);
        for (const s of plan.statuses) await storeStatus(db, s, result, events);
        for (const t of plan.templates) await storeTemplate(db, t, events);
        for (const o of plan.other) {
          await db.query(
            `insert into meta_webhook_changes (id, workspace_id, phone_number_id, waba_id, field, value) values ($1, $2, $3, $4, $5, $6)`,
            [newId('event'), o.workspaceId, o.phoneNumberId ?? null, o.wabaId, o.field, JSON.stringify(o.value)],
          );
        }
        await insertEvents(db, events);
        return result;
      });
    },

    async markDispatched(messageIds) {
      if (messageIds.length === 0) return;
      await pool.query('update messages set dispatch_pending = false where id = any($1::text[]) and dispatch_pending', [messageIds]);
    },

    async pendingDispatch(olderThan, limit) {
      const { rows } = await pool.query<{ workspace_id: string; conversation_id: string; id: string }>(
        `select workspace_id, conversation_id, id from messages
          where dispatch_pending and created_at < $1 order by created_at limit $2`,
        [olderThan, limit],
      );
      return rows.map<DispatchItem>((r) => ({ workspaceId: r.workspace_id, conversationId: r.conversation_id, messageId: r.id }));
    },

    async pendingMedia(olderThan, limit) {
      const { rows } = await pool.query<{ workspace_id: string; id: string; message_id: string; phone_number_id: string }>(
        `select md.workspace_id, md.id, md.message_id, m.phone_number_id from media md join messages m on m.id = md.message_id
          where md.status = 'pending' and md.created_at < $1 order by md.created_at limit $2`,
        [olderThan, limit],
      );
      return rows.map<MediaItem>((r) => ({ workspaceId: r.workspace_id, mediaId: r.id, messageId: r.message_id, phoneNumberId: r.phone_number_id }));
    },

    async applyPendingStatuses(numberId, wamid) {
      return withTransaction(pool, async (db) => {
        const { rows } = await db.query<{ status: StatusItem['status']; workspace_id: string; payload: { errors?: unknown[]; pricing?: StatusItem['pricing'] }; meta_timestamp: Date | null }>(
          `delete from pending_statuses where phone_number_id = $1 and wamid = $2
           returning status, workspace_id, payload, meta_timestamp`,
          [numberId, wamid],
        );
        const order = ['sent', 'delivered', 'read', 'failed'];
        rows.sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
        const events: NewEvent[] = [];
        let applied = 0;
        for (const r of rows) {
          const err = (r.payload.errors?.[0] ?? undefined) as StatusItem['error'];
          const outcome = await applyStatus(
            db,
            { workspaceId: r.workspace_id, numberId, wamid, status: r.status, timestamp: r.meta_timestamp, error: err, pricing: r.payload.pricing },
            events,
          );
          if (outcome === 'applied') applied++;
        }
        await insertEvents(db, events);
        return applied;
      });
    },

    async prunePendingStatuses(olderThan) {
      const r = await pool.query('delete from pending_statuses where received_at < $1', [olderThan]);
      return r.rowCount ?? 0;
    },
  };
}
