import type pg from 'pg';
import type { AgentRef, ConversationFilters, ConversationRow, ConversationsRepo, Note } from '../../domain/conversations/conversations.port';
import { conversationView, noteView as noteJson } from '../../domain/conversations/conversation-view';
import { MESSAGE_COLUMNS, messageView, type MessageRow } from '../../domain/messages/message-view';
import { toPage } from '../../domain/shared/pagination';
import { withTransaction, type Queryable } from './database';
import { insertEvents } from './events.repo';

interface Row {
  id: string;
  workspace_id: string;
  mode: ConversationRow['mode'];
  status: ConversationRow['status'];
  assignee_id: string | null;
  assignee_name: string | null;
  handoff_reason: string | null;
  handoff_at: Date | null;
  last_inbound_at: Date | null;
  window_expires_at: Date | null;
  last_activity_at: Date;
  human_activity_at: Date | null;
  closed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  number_id: string;
  meta_phone_number_id: string;
  display_number: string | null;
  contact_id: string;
  wa_id: string | null;
  profile_name: string | null;
  unread_count: number;
  last_message: (Omit<MessageRow, 'created_at' | 'updated_at' | 'meta_timestamp'> & { created_at: string; updated_at: string; meta_timestamp: string | null }) | null;
}

// Unread: customer messages after the latest outbound message (what still waits for an answer).
const SELECT = `
  select c.id, c.workspace_id, c.mode, c.status, c.assignee_id, c.assignee_name, c.handoff_reason, c.handoff_at,
         c.last_inbound_at, c.window_expires_at, c.last_activity_at, c.human_activity_at, c.closed_at, c.created_at, c.updated_at,
         n.id as number_id, n.phone_number_id as meta_phone_number_id, n.display_number,
         ct.id as contact_id, ct.wa_id, ct.profile_name,
         (select count(*)::int from messages i
           where i.conversation_id = c.id and i.direction = 'in' and i.author = 'customer'
             and i.id > coalesce((select max(o.id) from messages o where o.conversation_id = c.id and o.direction = 'out' and o.status <> 'cancelled'), '')
         ) as unread_count,
         (select row_to_json(lm) from (
            select ${MESSAGE_COLUMNS} from messages m where m.workspace_id = c.workspace_id and m.conversation_id = c.id order by m.id desc limit 1
         ) lm) as last_message
    from conversations c
    join phone_numbers n on n.id = c.phone_number_id
    join contacts ct on ct.id = c.contact_id`;

function toConversation(r: Row): ConversationRow {
  const lm = r.last_message;
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    mode: r.mode,
    status: r.status,
    assigneeId: r.assignee_id,
    assigneeName: r.assignee_name,
    handoffReason: r.handoff_reason,
    handoffAt: r.handoff_at,
    lastInboundAt: r.last_inbound_at,
    windowExpiresAt: r.window_expires_at,
    lastActivityAt: r.last_activity_at,
    humanActivityAt: r.human_activity_at,
    closedAt: r.closed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    number: { id: r.number_id, phoneNumberId: r.meta_phone_number_id, displayNumber: r.display_number },
    contact: { id: r.contact_id, waId: r.wa_id, name: r.profile_name },
    unreadCount: r.unread_count,
    // row_to_json turns timestamps into strings: back to Dates, as every other message row.
    lastMessage: lm
      ? { ...lm, created_at: new Date(lm.created_at), updated_at: new Date(lm.updated_at), meta_timestamp: lm.meta_timestamp ? new Date(lm.meta_timestamp) : null }
      : null,
  };
}

/** The conversation as the API shows it, read with the caller's client (inside its transaction). */
export async function readConversation(db: Queryable, workspaceId: string, id: string): Promise<ConversationRow | null> {
  const { rows } = await db.query<Row>(`${SELECT} where c.workspace_id = $1 and c.id = $2`, [workspaceId, id]);
  return rows[0] ? toConversation(rows[0]) : null;
}

interface Locked {
  mode: ConversationRow['mode'];
  status: ConversationRow['status'];
  assignee_id: string | null;
  assignee_name: string | null;
  human_activity_at: Date | null;
}

async function lock(db: Queryable, workspaceId: string, id: string): Promise<Locked | null> {
  const { rows } = await db.query<Locked>(
    'select mode, status, assignee_id, assignee_name, human_activity_at from conversations where workspace_id = $1 and id = $2 for update',
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

const agentJson = (a: AgentRef | null) => (a ? { id: a.id, name: a.name } : null);

function toNote(r: { id: string; conversation_id: string; author_id: string | null; author_name: string | null; body: string; created_at: Date }): Note {
  return { id: r.id, conversationId: r.conversation_id, authorId: r.author_id, authorName: r.author_name, body: r.body, createdAt: r.created_at };
}

export function createConversationsRepo(pool: pg.Pool): ConversationsRepo {
  return {
    async list(workspaceId, f: ConversationFilters, { limit, startingAfter }) {
      const where = ['c.workspace_id = $1'];
      const params: unknown[] = [workspaceId];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replaceAll('?', `$${params.length}`));
      };
      if (f.mode) add('c.mode = ?', f.mode);
      if (f.status) add('c.status = ?', f.status);
      if (f.number) add('(n.id = ? or n.phone_number_id = ?)', f.number);
      if (f.assignee === 'none') where.push('c.assignee_id is null');
      else if (f.assignee) add('c.assignee_id = ?', f.assignee);
      if (f.updatedSince) add('c.updated_at >= ?', f.updatedSince);
      if (f.q) {
        const digits = f.q.replace(/\D/g, '');
        params.push(`%${f.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
        const nameParam = `$${params.length}`;
        if (digits.length >= 3) {
          params.push(`%${digits}%`);
          where.push(`(ct.profile_name ilike ${nameParam} or ct.wa_id like $${params.length})`);
        } else {
          where.push(`ct.profile_name ilike ${nameParam}`);
        }
      }
      if (startingAfter) {
        // Most recent activity first; the cursor is the last conversation of the previous page.
        add(
          '(c.last_activity_at, c.id) < (select x.last_activity_at, x.id from conversations x where x.workspace_id = $1 and x.id = ?)',
          startingAfter,
        );
      }
      params.push(limit + 1);
      const { rows } = await pool.query<Row>(
        `${SELECT} where ${where.join(' and ')} order by c.last_activity_at desc, c.id desc limit $${params.length}`,
        params,
      );
      return toPage(rows.map(toConversation), limit);
    },

    get: (workspaceId, id) => readConversation(pool, workspaceId, id),

    async messages(workspaceId, id, { limit, startingAfter }) {
      const { rows } = await pool.query<MessageRow>(
        `select ${MESSAGE_COLUMNS} from messages
          where workspace_id = $1 and conversation_id = $2 and ($3::text is null or id < $3)
          order by id desc limit $4`,
        [workspaceId, id, startingAfter ?? null, limit + 1],
      );
      return toPage(rows, limit);
    },

    async takeover(workspaceId, id, agent, force) {
      return withTransaction(pool, async (db) => {
        const c = await lock(db, workspaceId, id);
        if (!c) return { outcome: 'missing' as const };
        if (c.mode === 'human' && c.assignee_id !== agent.id && !force) {
          return { outcome: 'held' as const, assignee: { id: c.assignee_id ?? '', name: c.assignee_name } };
        }
        const changed = !(c.mode === 'human' && c.assignee_id === agent.id && c.status === 'open');
        await db.query(
          `update conversations set mode = 'human', assignee_id = $3, assignee_name = $4, human_activity_at = now(),
                  status = 'open', closed_at = null, updated_at = now()
            where workspace_id = $1 and id = $2`,
          [workspaceId, id, agent.id, agent.name],
        );
        // The architecture's invariant: a takeover cancels the bot's queued messages. A message
        // the send worker already claimed (sending) was claimed in bot mode and cannot be recalled.
        const cancelled = await db.query<{ id: string }>(
          `update messages set status = 'cancelled', updated_at = now()
            where workspace_id = $1 and conversation_id = $2 and author = 'bot' and status = 'queued' returning id`,
          [workspaceId, id],
        );
        const conversation = (await readConversation(db, workspaceId, id)) as ConversationRow;
        const cancelledIds = cancelled.rows.map((r) => r.id).sort();
        if (changed || cancelledIds.length > 0) {
          await insertEvents(db, [
            {
              workspaceId,
              type: 'conversation.takeover',
              conversationId: id,
              data: {
                conversation: conversationView(conversation),
                agent: agentJson(agent),
                previous_mode: c.mode,
                previous_assignee: c.assignee_id ? { id: c.assignee_id, name: c.assignee_name } : null,
                cancelled_message_ids: cancelledIds,
              },
            },
          ]);
        }
        return { outcome: 'taken' as const, conversation, cancelled: cancelledIds, changed };
      });
    },

    async handback(workspaceId, id, p) {
      return withTransaction(pool, async (db) => {
        const c = await lock(db, workspaceId, id);
        if (!c) return { outcome: 'missing' as const };
        if (p.idleBefore && (c.mode !== 'human' || (c.human_activity_at !== null && c.human_activity_at >= p.idleBefore))) {
          return { outcome: 'not_idle' as const };
        }
        if (c.mode === 'bot') {
          return { outcome: 'handed_back' as const, conversation: (await readConversation(db, workspaceId, id)) as ConversationRow, changed: false, answerFrom: null };
        }
        // What the bot may answer afterwards: with answerUnanswered, the customer messages after
        // the agent's last reply (the rest a person has seen and answered); otherwise nothing.
        const { rows } = await db.query<{ last_answered: string | null; answer_from: string | null }>(
          `with bounds as (
             select (select max(id) from messages where conversation_id = $1 and direction = 'in') as last_in,
                    (select max(id) from messages where conversation_id = $1 and direction = 'out' and author = 'agent') as last_agent
           )
           select case when $2::boolean
                    then (select max(id) from messages where conversation_id = $1 and direction = 'in' and id < coalesce(b.last_agent, ''))
                    else b.last_in end as last_answered,
                  case when $2::boolean and b.last_in > coalesce(b.last_agent, '') then b.last_in end as answer_from
             from bounds b`,
          [id, p.answerUnanswered],
        );
        const bounds = rows[0] ?? { last_answered: null, answer_from: null };
        await db.query(
          `update conversations set mode = 'bot', assignee_id = null, assignee_name = null, handoff_reason = null, handoff_at = null,
                  human_activity_at = null, updated_at = now(),
                  last_answered_message_id = case when $3::text is null then last_answered_message_id
                                                   else greatest(coalesce(last_answered_message_id, ''), $3) end
            where workspace_id = $1 and id = $2`,
          [workspaceId, id, bounds.last_answered],
        );
        const conversation = (await readConversation(db, workspaceId, id)) as ConversationRow;
        await insertEvents(db, [
          {
            workspaceId,
            type: 'conversation.handback',
            conversationId: id,
            data: {
              conversation: conversationView(conversation),
              agent: agentJson(p.agent ?? (c.assignee_id ? { id: c.assignee_id, name: c.assignee_name } : null)),
              reason: p.reason,
              previous_mode: c.mode,
              bot_answers_pending: bounds.answer_from !== null,
            },
          },
        ]);
        return { outcome: 'handed_back' as const, conversation, changed: true, answerFrom: bounds.answer_from };
      });
    },

    async setStatus(workspaceId, id, status, agent) {
      return withTransaction(pool, async (db) => {
        const c = await lock(db, workspaceId, id);
        if (!c) return null;
        if (c.status === status) return { conversation: (await readConversation(db, workspaceId, id)) as ConversationRow, changed: false };
        // Closing ends a takeover too: a customer who writes again later finds the bot.
        await db.query(
          status === 'closed'
            ? `update conversations set status = 'closed', closed_at = now(), mode = 'bot', assignee_id = null, assignee_name = null,
                      handoff_reason = null, handoff_at = null, human_activity_at = null, updated_at = now()
                where workspace_id = $1 and id = $2`
            : "update conversations set status = 'open', closed_at = null, updated_at = now() where workspace_id = $1 and id = $2",
          [workspaceId, id],
        );
        if (status === 'closed') {
          // Nothing the customer sent before the close is answered by the bot afterwards.
          await db.query(
            `update conversations set last_answered_message_id = greatest(coalesce(last_answered_message_id, ''),
                    (select max(id) from messages where conversation_id = $2 and direction = 'in'))
              where workspace_id = $1 and id = $2 and exists (select 1 from messages where conversation_id = $2 and direction = 'in')`,
            [workspaceId, id],
          );
        }
        const conversation = (await readConversation(db, workspaceId, id)) as ConversationRow;
        await insertEvents(db, [
          {
            workspaceId,
            type: status === 'closed' ? 'conversation.closed' : 'conversation.reopened',
            conversationId: id,
            data: { conversation: conversationView(conversation), agent: agentJson(agent), previous_mode: c.mode },
          },
        ]);
        return { conversation, changed: true };
      });
    },

    async addNote(workspaceId, id, note) {
      return withTransaction(pool, async (db) => {
        const c = await lock(db, workspaceId, id);
        if (!c) return null;
        const { rows } = await db.query<Parameters<typeof toNote>[0]>(
          `insert into conversation_notes (id, workspace_id, conversation_id, author_id, author_name, body)
           values ($1, $2, $3, $4, $5, $6) returning id, conversation_id, author_id, author_name, body, created_at`,
          [note.id, workspaceId, id, note.agent?.id ?? null, note.agent?.name ?? null, note.body],
        );
        if (c.mode === 'human') {
          await db.query('update conversations set human_activity_at = now() where workspace_id = $1 and id = $2', [workspaceId, id]);
        }
        const created = toNote(rows[0] as Parameters<typeof toNote>[0]);
        await insertEvents(db, [{ workspaceId, type: 'conversation.note_added', conversationId: id, data: { note: noteJson(created) } }]);
        return created;
      });
    },

    async notes(workspaceId, id, { limit, startingAfter }) {
      const exists = await pool.query('select 1 from conversations where workspace_id = $1 and id = $2', [workspaceId, id]);
      if (exists.rowCount === 0) return null;
      const { rows } = await pool.query<Parameters<typeof toNote>[0]>(
        `select id, conversation_id, author_id, author_name, body, created_at from conversation_notes
          where workspace_id = $1 and conversation_id = $2 and ($3::text is null or id < $3)
          order by id desc limit $4`,
        [workspaceId, id, startingAfter ?? null, limit + 1],
      );
      return toPage(rows.map(toNote), limit);
    },

    async insertAgentReply(m, agent) {
      return withTransaction(pool, async (db) => {
        const c = await lock(db, m.workspaceId, m.conversationId);
        if (!c || c.mode !== 'human') return 'not_taken' as const;
        const { rows } = await db.query<MessageRow>(
          `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, type, content, author, author_id, author_name,
             status, recipient, graph_body, test, metadata, reply_to_wamid)
           values ($1, $2, $3, $4, 'out', $5, $6, 'agent', $7, $8, 'queued', $9, $10, $11, $12, $13)
           returning ${MESSAGE_COLUMNS}`,
          [m.id, m.workspaceId, m.conversationId, m.phoneNumberId, m.type, JSON.stringify(m.content), agent.id, agent.name, m.recipient,
            JSON.stringify(m.graphBody), m.test, JSON.stringify(m.metadata), m.replyToWamid],
        );
        await db.query(
          'update conversations set human_activity_at = now(), last_activity_at = now(), updated_at = now() where workspace_id = $1 and id = $2',
          [m.workspaceId, m.conversationId],
        );
        const row = rows[0] as MessageRow;
        await insertEvents(db, [
          { workspaceId: m.workspaceId, type: 'agent.replied', conversationId: m.conversationId, data: { message: messageView(row), agent: agentJson(agent) } },
        ]);
        return row;
      });
    },

    async idle(before, limit) {
      const { rows } = await pool.query<{ workspace_id: string; id: string }>(
        `select workspace_id, id from conversations where mode = 'human' and human_activity_at < $1 order by human_activity_at limit $2`,
        [before, limit],
      );
      return rows.map((r) => ({ workspaceId: r.workspace_id, id: r.id }));
    },
  };
}

