import type pg from 'pg';
import type { Dispatched, EventStreamRepo, StreamEvent } from '../../domain/events/event-stream';
import { withTransaction } from './database';
import { fanOutDeliveries } from './webhooks.repo';

interface Row {
  id: string;
  workspace_id: string;
  conversation_id: string | null;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
  stream_seq: string | null;
}

const COLUMNS = 'id, workspace_id, conversation_id, type, data, created_at, stream_seq';

function toEvent(r: Row, prev: number): StreamEvent {
  return {
    id: r.id,
    seq: Number(r.stream_seq),
    prev,
    workspaceId: r.workspace_id,
    conversationId: r.conversation_id,
    type: r.type,
    data: r.data,
    createdAt: r.created_at,
  };
}

/** Chains each event to the previous one of its workspace (rows in seq order). */
function chain(rows: Row[], heads: Map<string, number>): StreamEvent[] {
  return rows.map((r) => {
    const e = toEvent(r, heads.get(r.workspace_id) ?? 0);
    heads.set(r.workspace_id, e.seq);
    return e;
  });
}

export function createEventStreamRepo(pool: pg.Pool): EventStreamRepo {
  return {
    async dispatch(limit): Promise<Dispatched> {
      const none: Dispatched = { events: [], deliveries: [] };
      return withTransaction(pool, async (db) => {
        // One dispatcher at a time across every process: the state row is the lock. A second
        // dispatcher skips instead of waiting; the first one will get to its events.
        const state = await db.query<{ last_stream_seq: string }>('select last_stream_seq from event_stream_state where id = 1 for update skip locked');
        const last = state.rows[0] ? Number(state.rows[0].last_stream_seq) : null;
        if (last === null) return none;
        const { rows } = await db.query<Row>(
          `select ${COLUMNS} from events where dispatched_at is null order by seq limit $1`,
          [limit],
        );
        if (rows.length === 0) return none;
        const workspaces = [...new Set(rows.map((r) => r.workspace_id))];
        const heads = await db.query<{ workspace_id: string; head: string }>(
          `select w.id as workspace_id, coalesce((select max(stream_seq) from events e where e.workspace_id = w.id and e.stream_seq is not null), 0) as head
             from unnest($1::text[]) as w(id)`,
          [workspaces],
        );
        rows.forEach((r, i) => {
          r.stream_seq = String(last + i + 1);
        });
        await db.query(
          `update events e set dispatched_at = now(), stream_seq = v.seq
             from unnest($1::text[], $2::bigint[]) as v(id, seq) where e.id = v.id`,
          [rows.map((r) => r.id), rows.map((r) => r.stream_seq)],
        );
        await db.query('update event_stream_state set last_stream_seq = $1 where id = 1', [last + rows.length]);
        // Durable fan-out: the deliveries commit with the events' numbering, or neither does.
        const deliveries = await fanOutDeliveries(db, rows);
        return { events: chain(rows, new Map(heads.rows.map((h) => [h.workspace_id, Number(h.head)]))), deliveries };
      });
    },

    async after(workspaceId, seq, limit) {
      const { rows } = await pool.query<Row & { prev: string }>(
        `select ${COLUMNS} from events
          where workspace_id = $1 and stream_seq > $2 order by stream_seq limit $3`,
        [workspaceId, seq, limit],
      );
      return chain(rows, new Map([[workspaceId, seq]]));
    },

    async position(workspaceId, eventId) {
      const { rows } = await pool.query<{ stream_seq: string | null }>('select stream_seq from events where workspace_id = $1 and id = $2', [workspaceId, eventId]);
      const seq = rows[0]?.stream_seq;
      return seq === undefined || seq === null ? null : Number(seq);
    },

    async head(workspaceId) {
      const { rows } = await pool.query<{ head: string | null }>(
        'select max(stream_seq) as head from events where workspace_id = $1 and stream_seq is not null',
        [workspaceId],
      );
      return Number(rows[0]?.head ?? 0);
    },
  };
}
