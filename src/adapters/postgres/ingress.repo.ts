import type pg from 'pg';
import type { NewEvent } from '../../domain/events/events.port';
import type { DispatchItem, IngressRepo, MediaItem, PersistOptions, PersistResult } from '../../domain/ingress/ingress.port';
import type { IngressPlan, StatusItem, TemplateItem } from '../../domain/ingress/plan';
import { storeInboundBatch } from './inbound-batch';
import { MESSAGE_COLUMNS, messageView, type MessageRow } from '../../domain/messages/message-view';
import { newId } from '../../lib/ids';
import { withPipelinedTransaction, withTransaction, type Queryable } from './database';
import { insertEvents } from './events.repo';

// Rank of the outbound states; a status only moves forward. failed is terminal, and only a
// message not yet delivered can fail.
const RANK = "array_position(array['queued','sending','sent','delivered','read']::text[], status)";
const RANK_OF = (p: string) => `array_position(array['queued','sending','sent','delivered','read']::text[], ${p})`;

const TEMPLATE_STATUSES = new Set([
  'APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED', 'IN_APPEAL', 'PENDING_DELETION', 'DELETED', 'ARCHIVED', 'LIMIT_EXCEEDED',
]);

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

/** What a group's transaction stored: one result per plan, and the retries it found still flagged. */
export interface IngressCommit {
  results: PersistResult[];
  /** Messages stored earlier whose dispatch_pending is still set (they are in `dispatch` again). */
  redriven: string[];
}

/**
 * The transaction of a group of deliveries: statuses, template updates and other changes, then
 * the inbound messages of every delivery in one statement that carries the COMMIT (a group of
 * plain messages, most of them, is one round trip). `dispatchPending`: the flag new messages that
 * need an answer are stored with; false when the caller enqueues their jobs right after the
 * commit (see persist).
 */
export async function commitIngress(pool: pg.Pool, plans: IngressPlan[], dispatchPending: boolean): Promise<IngressCommit> {
  // The batch statement's generic plan, always: left to itself the server keeps planning it
  // afresh for every group (its cost model prefers custom plans for the unnest()s), at ~1.5x
  // the database CPU per delivery (measured in-process on the Postgres server). The plan it
  // reuses is checked by test/integration/ingress-batch-plan.test.ts. The other statements
  // of this transaction are lookups by key, for which a generic plan is as good.
  return withPipelinedTransaction(pool, async (tx) => {
    const results = plans.map(emptyResult);
    const events: NewEvent[] = [];
    for (const [i, plan] of plans.entries()) {
      const result = results[i] as PersistResult;
      for (const s of plan.statuses) await storeStatus(tx, s, result, events);
      for (const t of plan.templates) await storeTemplate(tx, t, events);
      for (const o of plan.other) {
        await tx.query(
          `insert into meta_webhook_changes (id, workspace_id, phone_number_id, waba_id, field, value) values ($1, $2, $3, $4, $5, $6)`,
          [newId('event'), o.workspaceId, o.phoneNumberId ?? null, o.wabaId, o.field, JSON.stringify(o.value)],
        );
      }
    }
    await insertEvents(tx, events);
    const batch = await storeInboundBatch(
      tx.commitWith,
      plans.flatMap((plan, delivery) => plan.inbound.map((item) => ({ delivery, item }))),
      results,
      dispatchPending,
    );
    return { results, redriven: batch.redriven };
  }, { setLocal: { plan_cache_mode: 'force_generic_plan' } });
}

/**
 * `commit`: where a group's transaction runs; by default here, on `pool`. The embedded database
 * on its own thread runs it there (pglite-thread.ts), and the agent jobs are still enqueued here.
 */
export type IngressCommitter = (plans: IngressPlan[], dispatchPending: boolean) => Promise<IngressCommit>;

export function createIngressRepo(pool: pg.Pool, commit: IngressCommitter = (plans, pending) => commitIngress(pool, plans, pending)): IngressRepo {
  return {
    async persist(plans: IngressPlan[], opts: PersistOptions = {}) {
      const { results, redriven } = await commit(plans, !opts.dispatch);

      // The agent jobs, after the commit: a job never exists for a message that does not. Each
      // carries the correlation id of the delivery that brought its message.
      const dispatch = results.flatMap((r, i) => {
        const correlationId = plans[i]?.correlationId;
        return correlationId ? r.dispatch.map((d) => ({ ...d, correlationId })) : r.dispatch;
      });
      if (!opts.dispatch || dispatch.length === 0) return results;
      try {
        await opts.dispatch(dispatch);
      } catch (e) {
        // The deliveries fail (503) and Meta sends them again; their retries enqueue the jobs
        // (a retry always does). The flag lets the sweeper do it sooner, if it can be set now.
        for (const r of results) if (r.dispatch.length) r.dispatchError = e;
        const again = new Set(redriven);
        const fresh = dispatch.map((d) => d.messageId).filter((id) => !again.has(id));
        if (fresh.length) await pool.query('update messages set dispatch_pending = true where id = any($1::text[])', [fresh]).catch(() => undefined);
        return results;
      }
      // Left set, the flag only has the sweeper enqueue a job that exists (a no-op).
      if (redriven.length) {
        await pool.query('update messages set dispatch_pending = false where id = any($1::text[]) and dispatch_pending', [redriven]).catch(() => undefined);
      }
      return results;
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
