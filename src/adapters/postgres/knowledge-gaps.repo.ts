import type { KnowledgeGap, KnowledgeGapsRepo } from '../../domain/agent/agent-repo.port';
import { toPage } from '../../domain/shared/pagination';
import type { Queryable } from './database';

interface Row {
  id: string;
  normalized_question: string;
  example_question: string;
  example_conversation_id: string | null;
  count: number;
  first_asked_at: Date;
  last_asked_at: Date;
  notified_at: Date | null;
}

export function createKnowledgeGapsRepo(db: Queryable): KnowledgeGapsRepo {
  return {
    async list(workspaceId, filters, page) {
      // Ordered by (count desc, id desc); the cursor is the last gap's id, whose count is looked up.
      const { rows } = await db.query<Row>(
        `select id, normalized_question, example_question, example_conversation_id, count, first_asked_at, last_asked_at, notified_at
           from knowledge_gaps g
          where workspace_id = $1 and count >= $2
            and ($3::text is null or (g.count, g.id) < (select c.count, c.id from knowledge_gaps c where c.workspace_id = $1 and c.id = $3))
          order by count desc, id desc limit $4`,
        [workspaceId, filters.minCount ?? 1, page.startingAfter ?? null, page.limit + 1],
      );
      return toPage(
        rows.map(
          (r): KnowledgeGap => ({
            id: r.id,
            normalizedQuestion: r.normalized_question,
            exampleQuestion: r.example_question,
            exampleConversationId: r.example_conversation_id,
            count: r.count,
            firstAskedAt: r.first_asked_at,
            lastAskedAt: r.last_asked_at,
            notifiedAt: r.notified_at,
          }),
        ),
        page.limit,
      );
    },
  };
}
