import type { NewEvent } from '../../domain/events/events.port';
import type { PersistResult } from '../../domain/ingress/ingress.port';
import { isMediaType } from '../../domain/ingress/normalize';
import type { InboundItem } from '../../domain/ingress/plan';
import { MESSAGE_COLUMNS, messageView, type MessageRow } from '../../domain/messages/message-view';
import { newId } from '../../lib/ids';
import type { Queryable } from './database';

/**
 * Stores the inbound messages of many webhook deliveries with a handful of set-based statements
 * (contacts, conversations, messages, windows, media, events), whatever their number. This is
 * what lets the ingress commit a group of concurrent deliveries in one transaction. The hot ones
 * are named (prepared once per connection, not parsed and planned for every group).
 *
 * `results[i]` is the result of delivery i; `items` carry the index of their delivery.
 */
export interface BatchItem {
  delivery: number;
  item: InboundItem;
}

const key = (...parts: (string | undefined)[]) => parts.map((p) => p ?? '').join('\u0000');

export interface BatchOutcome {
  /** Messages stored earlier whose dispatch_pending is still set (they are in `dispatch` again). */
  redriven: string[];
}

/**
 * `dispatchPending`: the value of dispatch_pending for new messages that need an answer: false
 * when the caller enqueues their jobs before the commit (and sets it back if that fails).
 */
export async function storeInboundBatch(
  db: Queryable,
  batch: BatchItem[],
  results: PersistResult[],
  events: NewEvent[],
  dispatchPending = true,
): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { redriven: [] };
  if (batch.length === 0) return outcome;
  // Oldest first, so the transcript and the window follow Meta's order.
  const items = [...batch].sort((a, b) => a.item.message.timestamp.getTime() - b.item.message.timestamp.getTime());

  // 1. Contacts, one row per (workspace, wa_id), or per (workspace, user_id) for customers Meta
  // names only by their business-scoped user id.
  const contactKey = (item: InboundItem) =>
    item.contact.waId !== undefined ? key(item.number.workspaceId, 'wa', item.contact.waId) : key(item.number.workspaceId, 'u', item.contact.userId);
  const contacts = new Map<string, { id: string; workspaceId: string; waId: string | null; userId: string | null; name: string | null }>();
  for (const { item } of items) {
    const k = contactKey(item);
    const existing = contacts.get(k);
    contacts.set(k, {
      id: existing?.id ?? newId('contact'),
      workspaceId: item.number.workspaceId,
      waId: item.contact.waId ?? null,
      userId: item.contact.userId ?? existing?.userId ?? null,
      name: item.contact.name ?? existing?.name ?? null,
    });
  }
  const contactId = new Map<string, string>();
  for (const byWa of [true, false]) {
    const cs = [...contacts.values()].filter((c) => (c.waId !== null) === byWa);
    if (cs.length === 0) continue;
    const { rows: found } = await db.query<{ id: string; workspace_id: string; wa_id: string | null; user_id: string | null }>({
      name: byWa ? 'ingress-contacts-by-wa-id' : 'ingress-contacts-by-user-id',
      text: `insert into contacts (id, workspace_id, wa_id, user_id, profile_name)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       on conflict ${byWa ? '(workspace_id, wa_id) where wa_id is not null' : '(workspace_id, user_id) where user_id is not null'} do update set
         profile_name = coalesce(excluded.profile_name, contacts.profile_name),
         user_id = coalesce(contacts.user_id, excluded.user_id),
         updated_at = now()
       returning id, workspace_id, wa_id, user_id`,
      values: [cs.map((c) => c.id), cs.map((c) => c.workspaceId), cs.map((c) => c.waId), cs.map((c) => c.userId), cs.map((c) => c.name)],
    });
    for (const r of found) {
      contactId.set(byWa ? key(r.workspace_id, 'wa', r.wa_id ?? undefined) : key(r.workspace_id, 'u', r.user_id ?? undefined), r.id);
    }
  }

  // 2. Conversations, one per (number, contact).
  const convs = new Map<string, { id: string; workspaceId: string; numberId: string; contactId: string; item: InboundItem }>();
  for (const { item } of items) {
    const cid = contactId.get(contactKey(item)) as string;
    const k = key(item.number.id, cid);
    if (!convs.has(k)) convs.set(k, { id: newId('conversation'), workspaceId: item.number.workspaceId, numberId: item.number.id, contactId: cid, item });
  }
  // The window (latest Meta timestamp, never moving backwards) and the activity are set by the
  // same upsert: one statement and one row version per conversation instead of two. A delivery
  // that is only a retry of stored messages moves last_activity_at; its timestamps were applied
  // when it was first stored, so the window does not change.
  const latest = new Map<string, Date>();
  for (const { item } of items) {
    if (!item.message.refreshesWindow) continue;
    const k = key(item.number.id, contactId.get(contactKey(item)));
    const prev = latest.get(k);
    if (!prev || prev < item.message.timestamp) latest.set(k, item.message.timestamp);
  }
  const cv = [...convs.values()];
  const convRows = await db.query<{ id: string; phone_number_id: string; contact_id: string; created: boolean }>({
    name: 'ingress-conversations',
    text: `insert into conversations (id, workspace_id, phone_number_id, contact_id, last_inbound_at, window_expires_at)
     select id, ws, num, contact, ts, ts + interval '24 hours'
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) as t(id, ws, num, contact, ts)
     on conflict (phone_number_id, contact_id) do update set
       last_inbound_at = greatest(conversations.last_inbound_at, excluded.last_inbound_at),
       window_expires_at = greatest(conversations.window_expires_at, excluded.window_expires_at),
       last_activity_at = greatest(conversations.last_activity_at, now()),
       -- A customer writing again reopens a closed conversation.
       status = 'open',
       updated_at = now()
     returning id, phone_number_id, contact_id, (xmax = 0) as created`,
    values: [
      cv.map((c) => c.id),
      cv.map((c) => c.workspaceId),
      cv.map((c) => c.numberId),
      cv.map((c) => c.contactId),
      cv.map((c) => latest.get(key(c.numberId, c.contactId)) ?? null),
    ],
  });
  const convId = new Map<string, string>();
  for (const r of convRows.rows) {
    convId.set(key(r.phone_number_id, r.contact_id), r.id);
    if (r.created) {
      const c = convs.get(key(r.phone_number_id, r.contact_id));
      if (c) {
        events.push({
          workspaceId: c.workspaceId,
          type: 'conversation.created',
          conversationId: r.id,
          data: { conversation_id: r.id, phone_number_id: c.numberId, contact: { wa_id: c.item.contact.waId ?? null, name: c.item.contact.name ?? null } },
        });
      }
    }
  }

  // 3. Messages; the same wamid twice in one group counts once.
  const seen = new Set<string>();
  const rows: { delivery: number; item: InboundItem; id: string; conversationId: string; mediaId: string | undefined }[] = [];
  for (const { delivery, item } of items) {
    const k = key(item.number.id, item.message.wamid);
    if (seen.has(k)) {
      (results[delivery] as PersistResult).duplicates++;
      continue;
    }
    seen.add(k);
    const cid = contactId.get(contactKey(item)) as string;
    const mediaId = item.message.content.media && isMediaType(item.message.type) ? newId('media') : undefined;
    if (mediaId && item.message.content.media) item.message.content.media.media_id = mediaId;
    rows.push({ delivery, item, id: newId('message'), conversationId: convId.get(key(item.number.id, cid)) as string, mediaId });
  }
  const inserted = await db.query<MessageRow>({
    name: 'ingress-messages',
    text: `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, wamid, type, content, raw,
       author, status, meta_timestamp, reply_to_wamid, dispatch_pending)
     select id, ws, conv, num, 'in', wamid, type, content, raw, author, 'received', ts, reply, pending
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[],
                   $9::text[], $10::timestamptz[], $11::text[], $12::boolean[])
         as t(id, ws, conv, num, wamid, type, content, raw, author, ts, reply, pending)
     on conflict (phone_number_id, wamid) do nothing
     returning ${MESSAGE_COLUMNS}`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.item.number.workspaceId),
      rows.map((r) => r.conversationId),
      rows.map((r) => r.item.number.id),
      rows.map((r) => r.item.message.wamid),
      rows.map((r) => r.item.message.type),
      rows.map((r) => JSON.stringify(r.item.message.content)),
      rows.map((r) => JSON.stringify(r.item.message.raw)),
      rows.map((r) => (r.item.message.type === 'system' ? 'system' : 'customer')),
      rows.map((r) => r.item.message.timestamp),
      rows.map((r) => r.item.message.content.context?.message_id ?? null),
      rows.map((r) => dispatchPending && r.item.message.needsAnswer),
    ],
  });
  const stored = new Map(inserted.rows.map((m) => [m.id, m]));

  // 4. Retries of deliveries stored earlier: enqueue now what the first attempt could not.
  const dupes = rows.filter((r) => !stored.has(r.id));
  if (dupes.length) {
    const pending = await db.query<{ id: string; conversation_id: string; phone_number_id: string; wamid: string; workspace_id: string }>(
      `select m.id, m.conversation_id, m.phone_number_id, m.wamid, m.workspace_id from messages m
         join unnest($1::text[], $2::text[]) as d(num, wamid) on m.phone_number_id = d.num and m.wamid = d.wamid
        where m.dispatch_pending`,
      [dupes.map((d) => d.item.number.id), dupes.map((d) => d.item.message.wamid)],
    );
    const byKey = new Map(pending.rows.map((p) => [key(p.phone_number_id, p.wamid), p]));
    for (const d of dupes) {
      const result = results[d.delivery] as PersistResult;
      result.duplicates++;
      const p = byKey.get(key(d.item.number.id, d.item.message.wamid));
      if (p) {
        result.dispatch.push({ workspaceId: p.workspace_id, conversationId: p.conversation_id, messageId: p.id });
        outcome.redriven.push(p.id);
      }
    }
  }

  // 5. Results, media rows and events of the messages stored now.
  const media: { id: string; ws: string; message: string; meta: string; mime: string | null; sha: string | null }[] = [];
  for (const r of rows) {
    const m = stored.get(r.id);
    if (!m) continue;
    const result = results[r.delivery] as PersistResult;
    result.stored++;
    const { message, number, contact } = r.item;
    if (message.needsAnswer) {
      result.dispatch.push({ workspaceId: number.workspaceId, conversationId: r.conversationId, messageId: r.id });
      result.newInbound.push({ workspaceId: number.workspaceId, phoneNumberId: number.id, wamid: message.wamid });
    }
    if (r.mediaId && message.content.media) {
      media.push({ id: r.mediaId, ws: number.workspaceId, message: r.id, meta: message.content.media.id, mime: message.content.media.mime_type ?? null, sha: message.content.media.sha256 ?? null });
      result.media.push({ workspaceId: number.workspaceId, mediaId: r.mediaId, messageId: r.id, phoneNumberId: number.id });
    }
    events.push({
      workspaceId: number.workspaceId,
      type: 'message.received',
      conversationId: r.conversationId,
      data: { message: messageView(m), contact: { wa_id: contact.waId ?? null, name: contact.name ?? null } },
    });
  }
  if (media.length) {
    await db.query(
      `insert into media (id, workspace_id, message_id, meta_media_id, mime_type, sha256)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       on conflict (message_id, meta_media_id) do nothing`,
      [media.map((x) => x.id), media.map((x) => x.ws), media.map((x) => x.message), media.map((x) => x.meta), media.map((x) => x.mime), media.map((x) => x.sha)],
    );
  }
  return outcome;
}
