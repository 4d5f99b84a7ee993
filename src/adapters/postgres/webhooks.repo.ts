import type pg from 'pg';
import { toPage } from '../../domain/shared/pagination';
import { endpointView } from '../../domain/webhooks/webhook-view';
import type { DeliveryJob, WebhookDelivery, WebhookEndpoint, WebhooksRepo } from '../../domain/webhooks/webhooks.port';
import { newId } from '../../lib/ids';
import { withTransaction, type Queryable } from './database';
import { insertEvents } from './events.repo';

interface EndpointRow {
  id: string;
  workspace_id: string;
  url: string;
  events: string[];
  description: string | null;
  active: boolean;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_expires_at: Date | null;
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  workspace_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: WebhookDelivery['status'];
  attempts: number;
  last_status_code: number | null;
  last_latency_ms: number | null;
  last_response_excerpt: string | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ENDPOINT_COLUMNS =
  'id, workspace_id, url, events, description, active, secret_enc, previous_secret_enc, previous_secret_expires_at, disabled_reason, disabled_at, failing_since, created_at, updated_at';
const DELIVERY_COLUMNS =
  'd.id, d.workspace_id, d.endpoint_id, d.event_id, e.type as event_type, d.status, d.attempts, d.last_status_code, d.last_latency_ms, ' +
  'd.last_response_excerpt, d.last_error, d.last_attempt_at, d.next_attempt_at, d.created_at, d.updated_at';

function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    url: r.url,
    events: r.events,
    description: r.description,
    active: r.active,
    secretEnc: r.secret_enc,
    previousSecretEnc: r.previous_secret_enc,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at,
    failingSince: r.failing_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastLatencyMs: r.last_latency_ms,
    lastResponseExcerpt: r.last_response_excerpt,
    lastError: r.last_error,
    lastAttemptAt: r.last_attempt_at,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

async function readDelivery(db: Queryable, workspaceId: string, id: string): Promise<WebhookDelivery | null> {
  const { rows } = await db.query<DeliveryRow>(
    `select ${DELIVERY_COLUMNS} from webhook_deliveries d join events e on e.id = d.event_id where d.workspace_id = $1 and d.id = $2`,
    [workspaceId, id],
  );
  return rows[0] ? toDelivery(rows[0]) : null;
}

/**
 * The durable fan-out, run inside the dispatcher's transaction: one pending delivery per event
 * and per active endpoint of its workspace subscribed to its type (or "*"). Returns the jobs to
 * enqueue after the commit.
 */
export async function fanOutDeliveries(db: Queryable, events: { id: string; workspace_id: string; type: string }[]): Promise<DeliveryJob[]> {
  if (events.length === 0) return [];
  const { rows } = await db.query<{ event_id: string; workspace_id: string; endpoint_id: string }>(
    `select v.id as event_id, w.workspace_id, w.id as endpoint_id
       from unnest($1::text[], $2::text[], $3::text[]) as v(id, workspace_id, type)
       join webhook_endpoints w on w.workspace_id = v.workspace_id and w.active
      where v.type <> 'webhook.test' and (v.type = any(w.events) or '*' = any(w.events))`,
    [events.map((e) => e.id), events.map((e) => e.workspace_id), events.map((e) => e.type)],
  );
  if (rows.length === 0) return [];
  const inserted = await db.query<{ id: string; workspace_id: string }>(
    `insert into webhook_deliveries (id, workspace_id, endpoint_id, event_id, next_attempt_at)
     select id, workspace_id, endpoint_id, event_id, now() from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as v(id, workspace_id, endpoint_id, event_id)
     on conflict (endpoint_id, event_id) do nothing
     returning id, workspace_id`,
    [rows.map(() => newId('webhookDelivery')), rows.map((r) => r.workspace_id), rows.map((r) => r.endpoint_id), rows.map((r) => r.event_id)],
  );
  return inserted.rows.map((r) => ({ workspaceId: r.workspace_id, deliveryId: r.id, attempt: 0 }));
}

export function createWebhooksRepo(pool: pg.Pool): WebhooksRepo {
  const one = async (sql: string, params: unknown[]) => {
    const { rows } = await pool.query<EndpointRow>(sql, params);
    return rows[0] ? toEndpoint(rows[0]) : null;
  };
  return {
    async createEndpoint(e) {
      return (await one(
        `insert into webhook_endpoints (id, workspace_id, url, events, description, active, secret_enc)
         values ($1, $2, $3, $4, $5, $6, $7) returning ${ENDPOINT_COLUMNS}`,
        [e.id, e.workspaceId, e.url, e.events, e.description, e.active, e.secretEnc],
      )) as WebhookEndpoint;
    },

    async listEndpoints(workspaceId, { limit, startingAfter }) {
      const { rows } = await pool.query<EndpointRow>(
        `select ${ENDPOINT_COLUMNS} from webhook_endpoints where workspace_id = $1 and ($2::text is null or id < $2) order by id desc limit $3`,
        [workspaceId, startingAfter ?? null, limit + 1],
      );
      return toPage(rows.map(toEndpoint), limit);
    },

    getEndpoint: (workspaceId, id) => one(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where workspace_id = $1 and id = $2`, [workspaceId, id]),

    async updateEndpoint(workspaceId, id, p) {
      // Enabling again clears the record of why it was disabled and of its failures.
      return one(
        `update webhook_endpoints set
           url = coalesce($3, url), events = coalesce($4, events),
           description = case when $5::boolean then $6 else description end,
           active = coalesce($7, active),
           disabled_reason = case when $7::boolean is true then null else disabled_reason end,
           disabled_at = case when $7::boolean is true then null else disabled_at end,
           failing_since = case when $7::boolean is true and not active then null else failing_since end,
           updated_at = now()
         where workspace_id = $1 and id = $2 returning ${ENDPOINT_COLUMNS}`,
        [workspaceId, id, p.url ?? null, p.events ?? null, p.description !== undefined, p.description ?? null, p.active ?? null],
      );
    },

    async deleteEndpoint(workspaceId, id) {
      const r = await pool.query('delete from webhook_endpoints where workspace_id = $1 and id = $2', [workspaceId, id]);
      return (r.rowCount ?? 0) > 0;
    },

    rotateSecret: (workspaceId, id, secretEnc, previousExpiresAt) =>
      one(
        `update webhook_endpoints set previous_secret_enc = secret_enc, previous_secret_expires_at = $4, secret_enc = $3, updated_at = now()
          where workspace_id = $1 and id = $2 returning ${ENDPOINT_COLUMNS}`,
        [workspaceId, id, secretEnc, previousExpiresAt],
      ),

    async createTestDelivery(workspaceId, endpointId, data) {
      return withTransaction(pool, async (db) => {
        const eventId = newId('event');
        // Marked dispatched at once: the ping goes to this endpoint only, not to the live stream.
        await db.query(`insert into events (id, workspace_id, type, data, dispatched_at) values ($1, $2, 'webhook.test', $3, now())`, [
          eventId,
          workspaceId,
          JSON.stringify(data),
        ]);
        const id = newId('webhookDelivery');
        await db.query('insert into webhook_deliveries (id, workspace_id, endpoint_id, event_id, next_attempt_at) values ($1, $2, $3, $4, now())', [
          id,
          workspaceId,
          endpointId,
          eventId,
        ]);
        return (await readDelivery(db, workspaceId, id)) as WebhookDelivery;
      });
    },

    async listDeliveries(workspaceId, endpointId, { limit, startingAfter }) {
      const { rows } = await pool.query<DeliveryRow>(
        `select ${DELIVERY_COLUMNS} from webhook_deliveries d join events e on e.id = d.event_id
          where d.workspace_id = $1 and d.endpoint_id = $2 and ($3::text is null or d.id < $3) order by d.id desc limit $4`,
        [workspaceId, endpointId, startingAfter ?? null, limit + 1],
      );
      return toPage(rows.map(toDelivery), limit);
    },

    async redeliver(workspaceId, endpointId, id) {
      const r = await pool.query(
        `update webhook_deliveries set status = 'pending', next_attempt_at = now(), updated_at = now()
          where workspace_id = $1 and endpoint_id = $2 and id = $3`,
        [workspaceId, endpointId, id],
      );
      return (r.rowCount ?? 0) > 0 ? readDelivery(pool, workspaceId, id) : null;
    },

    async claim(job, leaseMs) {
      const { rows } = await pool.query<{ id: string }>(
        `update webhook_deliveries set next_attempt_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
          where workspace_id = $1 and id = $2 and status = 'pending' and attempts = $3
            and next_attempt_at <= now() + interval '5 seconds'
          returning id`,
        [job.workspaceId, job.deliveryId, job.attempt, leaseMs],
      );
      if (rows.length === 0) return null;
      const delivery = (await readDelivery(pool, job.workspaceId, job.deliveryId)) as WebhookDelivery;
      const endpoint = await one(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where workspace_id = $1 and id = $2`, [job.workspaceId, delivery.endpointId]);
      if (!endpoint) return null;
      const ev = await pool.query<{ id: string; workspace_id: string; conversation_id: string | null; type: string; data: Record<string, unknown>; created_at: Date }>(
        'select id, workspace_id, conversation_id, type, data, created_at from events where workspace_id = $1 and id = $2',
        [job.workspaceId, delivery.eventId],
      );
      const e = ev.rows[0];
      if (!e) return null;
      return {
        delivery,
        endpoint,
        event: { id: e.id, workspaceId: e.workspace_id, conversationId: e.conversation_id, type: e.type, data: e.data, createdAt: e.created_at },
      };
    },

    async recordAttempt(job, o, opts) {
      return withTransaction(pool, async (db) => {
        const attempted = o.failed !== null;
        // The endpoint's row is locked before the delivery's, in the order a DELETE of the
        // endpoint takes them (its row, then its deliveries by cascade): the other order
        // deadlocked an endpoint deleted while an attempt was being recorded.
        if (attempted) {
          await db.query(
            `select 1 from webhook_endpoints
              where workspace_id = $1 and id = (select endpoint_id from webhook_deliveries where workspace_id = $1 and id = $2)
              for no key update`,
            [job.workspaceId, job.deliveryId],
          );
        }
        const r = await db.query<{ endpoint_id: string }>(
          `update webhook_deliveries set status = $4, attempts = attempts + $5::int,
                  last_status_code = case when $5::int = 1 then $6 else last_status_code end,
                  last_latency_ms = case when $5::int = 1 then $7 else last_latency_ms end,
                  last_response_excerpt = case when $5::int = 1 then $8 else last_response_excerpt end,
                  last_error = $9, last_attempt_at = case when $5::int = 1 then now() else last_attempt_at end,
                  next_attempt_at = $10, updated_at = now()
            where workspace_id = $1 and id = $2 and attempts = $3 and status = 'pending'
            returning endpoint_id`,
          [job.workspaceId, job.deliveryId, job.attempt, o.status, attempted ? 1 : 0, o.statusCode, o.latencyMs, o.excerpt, o.error, o.nextAttemptAt],
        );
        const endpointId = r.rows[0]?.endpoint_id;
        if (!endpointId) return { recorded: false, disabled: false };
        if (!attempted) return { recorded: true, disabled: false };
        const health = await db.query<EndpointRow>(
          `update webhook_endpoints set failing_since = case when $3::boolean then coalesce(failing_since, now()) else null end
            where workspace_id = $1 and id = $2 returning ${ENDPOINT_COLUMNS}`,
          [job.workspaceId, endpointId, o.failed],
        );
        const endpoint = health.rows[0];
        if (!endpoint || !endpoint.active || !o.failed) return { recorded: true, disabled: false };
        const reason = opts.disable ?? (endpoint.failing_since && endpoint.failing_since <= opts.failingCutoff ? 'failing' : null);
        if (!reason) return { recorded: true, disabled: false };
        const disabled = await db.query<EndpointRow>(
          `update webhook_endpoints set active = false, disabled_reason = $3, disabled_at = now(), updated_at = now()
            where workspace_id = $1 and id = $2 and active returning ${ENDPOINT_COLUMNS}`,
          [job.workspaceId, endpointId, reason],
        );
        const row = disabled.rows[0];
        if (!row) return { recorded: true, disabled: false };
        await insertEvents(db, [
          {
            workspaceId: job.workspaceId,
            type: 'webhook.endpoint_disabled',
            data: { endpoint: endpointView(toEndpoint(row)), reason, failing_since: row.failing_since?.toISOString() ?? null },
          },
        ]);
        return { recorded: true, disabled: true };
      });
    },

    async due(before, limit) {
      const { rows } = await pool.query<{ workspace_id: string; id: string; attempts: number }>(
        `select workspace_id, id, attempts from webhook_deliveries where status = 'pending' and next_attempt_at <= $1 order by next_attempt_at limit $2`,
        [before, limit],
      );
      return rows.map((r) => ({ workspaceId: r.workspace_id, deliveryId: r.id, attempt: r.attempts }));
    },
  };
}
