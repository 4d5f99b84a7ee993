import type pg from 'pg';
import type { AgentRepo, CommitResult, ConversationContext, GapInput } from '../../domain/agent/agent-repo.port';
import type { MessageRow } from '../../domain/messages/message-view';
import { messageView } from '../../domain/messages/message-view';
import { newId } from '../../lib/ids';
import { withTransaction, type Queryable } from './database';
import { insertEvents } from './events.repo';
import { readConversation } from './conversations.repo';
import { conversationView } from '../../domain/conversations/conversation-view';
import type { ConversationRow } from '../../domain/conversations/conversations.port';
import { createOutboundRepo } from './outbound.repo';

interface ContextRow {
  workspace_id: string;
  workspace_name: string;
  settings: Record<string, unknown>;
  id: string;
  mode: ConversationContext['mode'];
  status: ConversationContext['status'];
  phone_number_id: string;
  sandbox: boolean;
  wa_id: string | null;
  last_answered_message_id: string | null;
  window_expires_at: Date | null;
}

/**
 * Locks the conversation row for the rest of the transaction and says whether an answer up to
 * `upTo` may be stored: only in bot mode, and only if no other answer covered those messages
 * (a second guard beside the conversation lock: two answers to one message are impossible).
 */
async function lockForAnswer(db: Queryable, workspaceId: string, conversationId: string, upTo: string): Promise<string | null> {
  const { rows } = await db.query<{ mode: string; last_answered_message_id: string | null }>(
    'select mode, last_answered_message_id from conversations where workspace_id = $1 and id = $2 for update',
    [workspaceId, conversationId],
  );
  const row = rows[0];
  if (!row) return 'missing';
  if (row.mode !== 'bot') return row.mode;
  if (row.last_answered_message_id !== null && row.last_answered_message_id >= upTo) return 'already_answered';
  return null;
}

async function markAnswered(db: Queryable, workspaceId: string, conversationId: string, upTo: string): Promise<void> {
  // Ids sort by creation: the pointer only moves forward.
  await db.query(
    `update conversations set last_answered_message_id = $3, updated_at = now()
      where workspace_id = $1 and id = $2 and (last_answered_message_id is null or last_answered_message_id < $3)`,
    [workspaceId, conversationId, upTo],
  );
}

async function recordGap(db: Queryable, workspaceId: string, conversationId: string, gap: GapInput): Promise<void> {
  const { rows } = await db.query<{ id: string; count: number; notified_at: Date | null; example_question: string; first_asked_at: Date }>(
    `insert into knowledge_gaps (id, workspace_id, normalized_question, example_question, example_conversation_id)
     values ($1, $2, $3, $4, $5)
     on conflict (workspace_id, normalized_question) do update set
       count = knowledge_gaps.count + 1, last_asked_at = now(), example_question = excluded.example_question,
       example_conversation_id = excluded.example_conversation_id
     returning id, count, notified_at, example_question, first_asked_at`,
    [newId('gap'), workspaceId, gap.normalizedQuestion, gap.exampleQuestion.slice(0, 2_000), conversationId],
  );
  const row = rows[0];
  if (row && row.notified_at === null && row.count >= gap.threshold) {
    await db.query('update knowledge_gaps set notified_at = now() where id = $1', [row.id]);
    await insertEvents(db, [
      {
        workspaceId,
        type: 'knowledge_gap.detected',
        conversationId,
        data: {
          gap: {
            object: 'knowledge_gap',
            id: row.id,
            question: row.example_question,
            normalized_question: gap.normalizedQuestion,
            count: row.count,
            first_asked_at: row.first_asked_at.toISOString(),
            example_conversation_id: conversationId,
          },
        },
      },
    ]);
  }
}

export function createAgentRepo(pool: pg.Pool): AgentRepo {
  return {
    async context(workspaceId, conversationId) {
      const { rows } = await pool.query<ContextRow>(
        `select w.id as workspace_id, w.name as workspace_name, w.settings, c.id, c.mode, c.status, c.phone_number_id, n.sandbox,
                ct.wa_id, c.last_answered_message_id, c.window_expires_at
           from conversations c
           join workspaces w on w.id = c.workspace_id
           join phone_numbers n on n.id = c.phone_number_id
           join contacts ct on ct.id = c.contact_id
          where c.workspace_id = $1 and c.id = $2`,
        [workspaceId, conversationId],
      );
      const r = rows[0];
      if (!r) return null;
      return {
        workspaceId: r.workspace_id,
        workspaceName: r.workspace_name,
        settings: r.settings,
        conversationId: r.id,
        mode: r.mode,
        status: r.status,
        numberId: r.phone_number_id,
        sandbox: r.sandbox,
        contactWaId: r.wa_id,
        lastAnsweredMessageId: r.last_answered_message_id,
        windowExpiresAt: r.window_expires_at,
      };
    },

    async unanswered(workspaceId, conversationId, afterId) {
      const { rows } = await pool.query<{ id: string; wamid: string | null; type: string; content: never; created_at: Date }>(
        `select id, wamid, type, content, created_at from messages
          where workspace_id = $1 and conversation_id = $2 and direction = 'in' and ($3::text is null or id > $3)
          order by id limit 100`,
        [workspaceId, conversationId, afterId],
      );
      return rows.map((r) => ({ id: r.id, wamid: r.wamid, type: r.type, content: r.content, createdAt: r.created_at }));
    },

    async history(workspaceId, conversationId, beforeId, limit) {
      const { rows } = await pool.query<{ id: string; direction: 'in' | 'out'; author: string; type: string; content: Record<string, unknown> }>(
        `select id, direction, author, type, content from messages
          where workspace_id = $1 and conversation_id = $2 and id < $3 and status not in ('cancelled', 'failed')
          order by id desc limit $4`,
        [workspaceId, conversationId, beforeId, limit],
      );
      return rows;
    },

    async messageExists(workspaceId, messageId) {
      const { rows } = await pool.query('select 1 from messages where workspace_id = $1 and id = $2', [workspaceId, messageId]);
      return rows.length > 0;
    },

    async commitReply(p): Promise<CommitResult> {
      return withTransaction(pool, async (db) => {
        const refused = await lockForAnswer(db, p.workspaceId, p.conversationId, p.answeredUpTo);
        if (refused) return { committed: false, mode: refused };
        const out = createOutboundRepo(db);
        const messages: MessageRow[] = [];
        for (const r of p.replies) messages.push(await out.insert(r));
        await db.query('update messages set answer = $2 where id = any($1::text[])', [messages.map((m) => m.id), JSON.stringify(p.answer)]);
        await markAnswered(db, p.workspaceId, p.conversationId, p.answeredUpTo);
        return { committed: true, messages };
      });
    },

    async commitHandoff(p): Promise<CommitResult> {
      return withTransaction(pool, async (db) => {
        const refused = await lockForAnswer(db, p.workspaceId, p.conversationId, p.answeredUpTo);
        if (refused) return { committed: false, mode: refused };
        await db.query(
          `update conversations set mode = 'pending_human', handoff_reason = $3, handoff_at = now(), updated_at = now()
            where workspace_id = $1 and id = $2`,
          [p.workspaceId, p.conversationId, p.reason],
        );
        const messages: MessageRow[] = [];
        if (p.notice) {
          const m = await createOutboundRepo(db).insert(p.notice);
          await db.query('update messages set answer = $2 where id = $1', [m.id, JSON.stringify({ kind: 'handoff', reason: p.reason })]);
          messages.push(m);
        }
        await markAnswered(db, p.workspaceId, p.conversationId, p.answeredUpTo);
        if (p.gap) await recordGap(db, p.workspaceId, p.conversationId, p.gap);
        await insertEvents(db, [
          {
            workspaceId: p.workspaceId,
            type: 'conversation.handoff_requested',
            conversationId: p.conversationId,
            data: {
              conversation_id: p.conversationId,
              conversation: conversationView((await readConversation(db, p.workspaceId, p.conversationId)) as ConversationRow),
              mode: 'pending_human',
              reason: p.reason,
              notice: messages[0] ? messageView(messages[0]) : null,
            },
          },
        ]);
        return { committed: true, messages };
      });
    },

    async markAnswered(workspaceId, conversationId, upTo) {
      await markAnswered(pool, workspaceId, conversationId, upTo);
    },
  };
}

