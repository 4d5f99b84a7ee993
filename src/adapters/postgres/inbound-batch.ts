import type pg from 'pg';
import type { PersistResult } from '../../domain/ingress/ingress.port';
import { isMediaType } from '../../domain/ingress/normalize';
import type { InboundItem } from '../../domain/ingress/plan';
import { messageView, type MessageRow } from '../../domain/messages/message-view';
import { newId } from '../../lib/ids';

/**
 * Stores the inbound messages of many webhook deliveries with one statement, whatever their
 * number: contacts, conversations (with their windows), messages, their media and their outbox
 * events are data-modifying steps of one query (a CTE), each step joining the rows the previous
 * one returned. That is what lets the ingress commit a group of concurrent deliveries in one
 * round trip (this statement between the BEGIN and the COMMIT, see withPipelinedTransaction): on
 * a machine where every round trip to the database wakes another process, round trips per group
 * were the largest cost of the ingress (the four statements this used to be took ~0.4 ms of
 * database CPU each, whatever the group's size).
 * It is a named statement, planned once per connection.
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

/** How the statement is sent: as one of its transaction's, or with its COMMIT. */
export type RunStatement = <R extends pg.QueryResultRow>(config: pg.QueryConfig) => Promise<pg.QueryResult<R>>;

/**
 * `dispatchPending`: the value of dispatch_pending for new messages that need an answer: false
 * when the caller enqueues their jobs right after the commit (and sets it if that fails).
 * Retries (messages stored before) that need an answer are in `dispatch` again, whatever their
 * flag: the first attempt may have stopped between its commit and its enqueue.
 */
export async function storeInboundBatch(
  run: RunStatement,
  batch: BatchItem[],
  results: PersistResult[],
  dispatchPending = true,
): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { redriven: [] };
  if (batch.length === 0) return outcome;
  // Oldest first, so the transcript, the window and the events follow Meta's order.
  const items = [...batch].sort((a, b) => a.item.message.timestamp.getTime() - b.item.message.timestamp.getTime());
  const now = new Date();

  // Contacts, one row per (workspace, wa_id), or per (workspace, user_id) for customers Meta
  // names only by their business-scoped user id. The statement joins them back by that key.
  const contactRef = (item: InboundItem) =>
    item.contact.waId !== undefined
      ? { ws: item.number.workspaceId, kind: 'wa', key: item.contact.waId }
      : { ws: item.number.workspaceId, kind: 'u', key: item.contact.userId ?? '' };
  const contacts = new Map<string, { id: string; workspaceId: string; waId: string | null; userId: string | null; name: string | null }>();
  for (const { item } of items) {
    const ref = contactRef(item);
    const k = key(ref.ws, ref.kind, ref.key);
    const existing = contacts.get(k);
    contacts.set(k, {
      id: existing?.id ?? newId('contact'),
      workspaceId: item.number.workspaceId,
      waId: item.contact.waId ?? null,
      userId: item.contact.userId ?? existing?.userId ?? null,
      name: item.contact.name ?? existing?.name ?? null,
    });
  }

  // Conversations, one per (number, contact). The window (latest Meta timestamp, never moving
  // backwards) and the activity are set by the same upsert. A delivery that is only a retry of
  // stored messages moves last_activity_at; its timestamps were applied when it was first
  // stored, so the window does not change.
  const convs = new Map<string, { id: string; eventId: string; item: InboundItem; latest: Date | null }>();
  for (const { item } of items) {
    const ref = contactRef(item);
    const k = key(item.number.id, ref.kind, ref.key);
    const conv = convs.get(k) ?? { id: newId('conversation'), eventId: newId('event'), item, latest: null };
    if (item.message.refreshesWindow && (!conv.latest || conv.latest < item.message.timestamp)) conv.latest = item.message.timestamp;
    convs.set(k, conv);
  }

  // Messages; the same wamid twice in one group counts once. Each carries its message.received
  // event, built here (the statement fills in the conversation id) and stored only if the
  // message is new.
  const seen = new Set<string>();
  const rows: { delivery: number; item: InboundItem; id: string; eventId: string; mediaId: string | undefined; event: string }[] = [];
  for (const { delivery, item } of items) {
    const k = key(item.number.id, item.message.wamid);
    if (seen.has(k)) {
      (results[delivery] as PersistResult).duplicates++;
      continue;
    }
    seen.add(k);
    const mediaId = item.message.content.media && isMediaType(item.message.type) ? newId('media') : undefined;
    if (mediaId && item.message.content.media) item.message.content.media.media_id = mediaId;
    const id = newId('message');
    const row: MessageRow = {
      id,
      workspace_id: item.number.workspaceId,
      conversation_id: '',
      phone_number_id: item.number.id,
      direction: 'in',
      wamid: item.message.wamid,
      type: item.message.type,
      content: item.message.content,
      author: item.message.type === 'system' ? 'system' : 'customer',
      status: 'received',
      error_code: null,
      error_title: null,
      error_details: null,
      meta_timestamp: item.message.timestamp,
      reply_to_wamid: item.message.content.context?.message_id ?? null,
      pricing_category: null,
      pricing_type: null,
      test: false,
      metadata: {},
      created_at: now,
      updated_at: now,
    };
    const event = JSON.stringify({ message: messageView(row), contact: { wa_id: item.contact.waId ?? null, name: item.contact.name ?? null } });
    rows.push({ delivery, item, id, eventId: newId('event'), mediaId, event });
  }

  const cs = [...contacts.values()];
  const cv = [...convs.values()];
  const { rows: out } = await run<{ k: 'm' | 'p'; id: string; conversation_id: string; phone_number_id: string | null; wamid: string | null; workspace_id: string | null; pending: boolean | null }>({
    name: 'ingress-batch',
    text: INGRESS_BATCH_SQL,
    values: [
      cs.map((c) => c.id),
      cs.map((c) => c.workspaceId),
      cs.map((c) => c.waId),
      cs.map((c) => c.userId),
      cs.map((c) => c.name),
      cv.map((c) => c.id),
      cv.map((c) => c.item.number.workspaceId),
      cv.map((c) => c.item.number.id),
      cv.map((c) => contactRef(c.item).kind),
      cv.map((c) => contactRef(c.item).key),
      cv.map((c) => c.latest),
      cv.map((c) => c.eventId),
      cv.map((c) => c.item.contact.waId ?? null),
      cv.map((c) => c.item.contact.name ?? null),
      rows.map((r) => r.id),
      rows.map((r) => r.item.number.workspaceId),
      rows.map((r) => r.item.number.id),
      rows.map((r) => contactRef(r.item).kind),
      rows.map((r) => contactRef(r.item).key),
      rows.map((r) => r.item.message.wamid),
      rows.map((r) => r.item.message.type),
      rows.map((r) => JSON.stringify(r.item.message.content)),
      rows.map((r) => JSON.stringify(r.item.message.raw)),
      rows.map((r) => (r.item.message.type === 'system' ? 'system' : 'customer')),
      rows.map((r) => r.item.message.timestamp),
      rows.map((r) => r.item.message.content.context?.message_id ?? null),
      rows.map((r) => dispatchPending && r.item.message.needsAnswer),
      now,
      rows.map((r) => r.eventId),
      rows.map((r) => r.event),
      rows.map((r) => r.mediaId ?? null),
      rows.map((r) => (r.mediaId ? (r.item.message.content.media?.id ?? null) : null)),
      rows.map((r) => (r.mediaId ? (r.item.message.content.media?.mime_type ?? null) : null)),
      rows.map((r) => (r.mediaId ? (r.item.message.content.media?.sha256 ?? null) : null)),
    ],
  });
  const stored = new Map<string, string>();
  const earlier = new Map<string, { id: string; conversation_id: string; workspace_id: string; pending: boolean }>();
  for (const o of out) {
    if (o.k === 'm') stored.set(o.id, o.conversation_id);
    else earlier.set(key(o.phone_number_id ?? '', o.wamid ?? ''), { id: o.id, conversation_id: o.conversation_id, workspace_id: o.workspace_id ?? '', pending: o.pending === true });
  }

  // Results of the messages stored now; retries of deliveries stored earlier enqueue again what
  // the first attempt may not have (job ids are deterministic: a job that exists is not doubled).
  for (const r of rows) {
    const result = results[r.delivery] as PersistResult;
    const { message, number } = r.item;
    const conversationId = stored.get(r.id);
    if (conversationId === undefined) {
      result.duplicates++;
      const p = earlier.get(key(number.id, message.wamid));
      if (p && (p.pending || message.needsAnswer)) {
        result.dispatch.push({ workspaceId: p.workspace_id, conversationId: p.conversation_id, messageId: p.id });
        if (p.pending) outcome.redriven.push(p.id);
      }
      continue;
    }
    result.stored++;
    if (message.needsAnswer) {
      result.dispatch.push({ workspaceId: number.workspaceId, conversationId, messageId: r.id });
      result.newInbound.push({ workspaceId: number.workspaceId, phoneNumberId: number.id, wamid: message.wamid });
    }
    if (r.mediaId) result.media.push({ workspaceId: number.workspaceId, mediaId: r.mediaId, messageId: r.id, phoneNumberId: number.id });
  }
  return outcome;
}

/**
 * Every step sees the database as it was when the statement began (rows inserted by one step
 * are visible to the next only through its RETURNING), and the foreign keys are checked at the
 * end of the statement. `dup` therefore reads only messages stored before: the retries.
 * Events are inserted in order (conversation.created first, then the messages oldest first), so
 * their seq follows it.
 */
export const INGRESS_BATCH_SQL = `
with c_in as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as t(id, ws, wa, uid, name)
), c_wa as (
  insert into contacts (id, workspace_id, wa_id, user_id, profile_name)
  select id, ws, wa, uid, name from c_in where wa is not null
  on conflict (workspace_id, wa_id) where wa_id is not null do update set
    profile_name = coalesce(excluded.profile_name, contacts.profile_name),
    user_id = coalesce(contacts.user_id, excluded.user_id),
    updated_at = now()
  returning id, workspace_id, wa_id, user_id
), c_u as (
  insert into contacts (id, workspace_id, wa_id, user_id, profile_name)
  select id, ws, wa, uid, name from c_in where wa is null
  on conflict (workspace_id, user_id) where user_id is not null do update set
    profile_name = coalesce(excluded.profile_name, contacts.profile_name),
    user_id = coalesce(contacts.user_id, excluded.user_id),
    updated_at = now()
  returning id, workspace_id, wa_id, user_id
), c_all as (
  select id, workspace_id, 'wa'::text as kind, wa_id as key from c_wa
  union all
  select id, workspace_id, 'u'::text, user_id from c_u
), conv_in as (
  select * from unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::text[], $14::text[])
    as t(id, ws, num, kind, key, ts, event_id, wa, name)
), conv as (
  insert into conversations (id, workspace_id, phone_number_id, contact_id, last_inbound_at, window_expires_at)
  select ci.id, ci.ws, ci.num, ca.id, ci.ts, ci.ts + interval '24 hours'
    from conv_in ci join c_all ca on ca.workspace_id = ci.ws and ca.kind = ci.kind and ca.key = ci.key
  on conflict (phone_number_id, contact_id) do update set
    last_inbound_at = greatest(conversations.last_inbound_at, excluded.last_inbound_at),
    window_expires_at = greatest(conversations.window_expires_at, excluded.window_expires_at),
    last_activity_at = greatest(conversations.last_activity_at, now()),
    -- A customer writing again reopens a closed conversation.
    status = 'open',
    updated_at = now()
  returning id, workspace_id, phone_number_id, contact_id, (xmax = 0) as created
), m_in as (
  select * from unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::jsonb[], $23::jsonb[],
                       $24::text[], $25::timestamptz[], $26::text[], $27::boolean[], $29::text[], $30::jsonb[],
                       $31::text[], $32::text[], $33::text[], $34::text[]) with ordinality
    as t(id, ws, num, kind, key, wamid, type, content, raw, author, ts, reply, pending, event_id, event,
         media_id, meta_media_id, mime_type, sha256, ord)
), m_conv as (
  select mi.*, cv.id as conv
    from m_in mi
    join c_all ca on ca.workspace_id = mi.ws and ca.kind = mi.kind and ca.key = mi.key
    join conv cv on cv.phone_number_id = mi.num and cv.contact_id = ca.id
), msg as (
  insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, wamid, type, content, raw,
    author, status, meta_timestamp, reply_to_wamid, dispatch_pending, created_at, updated_at)
  select id, ws, conv, num, 'in', wamid, type, content, raw, author, 'received', ts, reply, pending, $28::timestamptz, $28::timestamptz
    from m_conv
  on conflict (phone_number_id, wamid) do nothing
  returning id, conversation_id
), md as (
  -- The media of the new messages (fetched later by the media job).
  insert into media (id, workspace_id, message_id, meta_media_id, mime_type, sha256)
  select mi.media_id, mi.ws, mi.id, mi.meta_media_id, mi.mime_type, mi.sha256
    from m_in mi join msg on msg.id = mi.id
   where mi.media_id is not null
  on conflict (message_id, meta_media_id) do nothing
), dup as (
  -- Only the messages this statement did not insert (the retries) are looked up, one probe of
  -- the unique index each. OFFSET 0 keeps both subqueries as they are written: pulled up, the
  -- planner may join the whole table instead, with a plan cached while the table was small.
  select m.id, m.conversation_id, m.phone_number_id, m.wamid, m.workspace_id, m.dispatch_pending
    from (select mi.num, mi.wamid from m_in mi where not exists (select 1 from msg where msg.id = mi.id) offset 0) r
    cross join lateral (
      select x.id, x.conversation_id, x.phone_number_id, x.wamid, x.workspace_id, x.dispatch_pending
        from messages x
       where x.phone_number_id = r.num and x.wamid = r.wamid
      offset 0
    ) m
), ev as (
  insert into events (id, workspace_id, type, conversation_id, data)
  select id, ws, type, conv, data from (
    select ci.event_id as id, cv.workspace_id as ws, 'conversation.created' as type, cv.id as conv, 0::bigint as ord,
           jsonb_build_object('conversation_id', cv.id, 'phone_number_id', cv.phone_number_id,
                              'contact', jsonb_build_object('wa_id', ci.wa, 'name', ci.name)) as data
      from conv cv
      join c_all ca on ca.id = cv.contact_id
      join conv_in ci on ci.num = cv.phone_number_id and ci.ws = ca.workspace_id and ci.kind = ca.kind and ci.key = ca.key
     where cv.created
    union all
    select mc.event_id, mc.ws, 'message.received', mc.conv, mc.ord, jsonb_set(mc.event, '{message,conversation_id}', to_jsonb(mc.conv))
      from m_conv mc join msg on msg.id = mc.id
  ) e
  order by ord, id
)
select 'm' as k, id, conversation_id, null::text as phone_number_id, null::text as wamid, null::text as workspace_id, null::boolean as pending from msg
union all
select 'p', id, conversation_id, phone_number_id, wamid, workspace_id, dispatch_pending from dup`;
