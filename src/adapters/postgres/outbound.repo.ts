import type { MessageRow } from '../../domain/messages/message-view';
import { MESSAGE_COLUMNS } from '../../domain/messages/message-view';
import type { ConversationWindow, OutboundRepo } from '../../domain/messages/outbound.port';
import { toPage } from '../../domain/shared/pagination';
import { newId } from '../../lib/ids';
import type { Queryable } from './database';

interface WindowRow {
  id: string;
  last_inbound_at: Date | null;
  window_expires_at: Date | null;
}
const toWindow = (r: WindowRow): ConversationWindow => ({ conversationId: r.id, lastInboundAt: r.last_inbound_at, windowExpiresAt: r.window_expires_at });

export function createOutboundRepo(db: Queryable): OutboundRepo {
  return {
    async numbers(workspaceId) {
      const { rows } = await db.query<{ id: string; phone_number_id: string; waba_id: string; sandbox: boolean }>(
        'select id, phone_number_id, waba_id, sandbox from phone_numbers where workspace_id = $1 order by id',
        [workspaceId],
      );
      return rows.map((r) => ({ id: r.id, phoneNumberId: r.phone_number_id, wabaId: r.waba_id, sandbox: r.sandbox }));
    },
    async ensureConversation(workspaceId, numberId, waId) {
      const contact = await db.query<{ id: string }>(
        `insert into contacts (id, workspace_id, wa_id) values ($1, $2, $3)
         on conflict (workspace_id, wa_id) where wa_id is not null do update set wa_id = excluded.wa_id returning id`,
        [newId('contact'), workspaceId, waId],
      );
      const { rows } = await db.query<WindowRow>(
        `insert into conversations (id, workspace_id, phone_number_id, contact_id) values ($1, $2, $3, $4)
         on conflict (phone_number_id, contact_id) do update set phone_number_id = excluded.phone_number_id
         returning id, last_inbound_at, window_expires_at`,
        [newId('conversation'), workspaceId, numberId, contact.rows[0]?.id],
      );
      return toWindow(rows[0] as WindowRow);
    },
    async conversationWindow(workspaceId, conversationId) {
      const { rows } = await db.query<WindowRow>(
        'select id, last_inbound_at, window_expires_at from conversations where workspace_id = $1 and id = $2',
        [workspaceId, conversationId],
      );
      return rows[0] ? toWindow(rows[0]) : null;
    },
    async contactWindow(workspaceId, numberId, waId) {
      const { rows } = await db.query<WindowRow>(
        `select v.id, v.last_inbound_at, v.window_expires_at from conversations v join contacts c on c.id = v.contact_id
          where v.workspace_id = $1 and v.phone_number_id = $2 and c.wa_id = $3`,
        [workspaceId, numberId, waId],
      );
      return rows[0] ? toWindow(rows[0]) : null;
    },
    async template(workspaceId, wabaId, name, language) {
      const { rows } = await db.query<{ status: string; components: never }>(
        'select status, components from templates where workspace_id = $1 and waba_id = $2 and name = $3 and language = $4',
        [workspaceId, wabaId, name, language],
      );
      return rows[0] ?? null;
    },
    async insert(m) {
      const { rows } = await db.query<MessageRow>(
        `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, type, content, author, author_id,
           status, recipient, graph_body, test, metadata, reply_to_wamid)
         values ($1, $2, $3, $4, 'out', $5, $6, $7, $8, 'queued', $9, $10, $11, $12, $13)
         returning ${MESSAGE_COLUMNS}`,
        [m.id, m.workspaceId, m.conversationId, m.phoneNumberId, m.type, JSON.stringify(m.content), m.author, m.authorId, m.recipient, JSON.stringify(m.graphBody), m.test, JSON.stringify(m.metadata), m.replyToWamid],
      );
      return rows[0] as MessageRow;
    },
    async get(workspaceId, id) {
      const { rows } = await db.query<MessageRow>(`select ${MESSAGE_COLUMNS} from messages where workspace_id = $1 and id = $2`, [workspaceId, id]);
      return rows[0] ?? null;
    },
    async list(workspaceId, f, { limit, startingAfter }) {
      const { rows } = await db.query<MessageRow>(
        `select ${MESSAGE_COLUMNS} from messages
          where workspace_id = $1 and ($2::text is null or conversation_id = $2) and ($3::text is null or status = $3)
            and ($4::text is null or direction = $4) and ($5::text is null or id < $5)
          order by id desc limit $6`,
        [workspaceId, f.conversationId ?? null, f.status ?? null, f.direction ?? null, startingAfter ?? null, limit + 1],
      );
      return toPage(rows, limit);
    },
  };
}
