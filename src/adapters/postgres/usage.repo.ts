import type pg from 'pg';
import type { UsageRepo } from '../../domain/usage/usage.port';
import { newId } from '../../lib/ids';

export function createUsageRepo(pool: pg.Pool): UsageRepo {
  return {
    async insert(e) {
      await pool.query(
        `insert into usage_records (id, workspace_id, kind, model, input_tokens, output_tokens, cost_usd)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [newId('usage'), e.workspaceId, e.kind, e.model, e.inputTokens, e.outputTokens, e.costUsd.toFixed(6)],
      );
    },

    async summary(workspaceId, from, to) {
      const [usage, answers, handoffs, messages] = await Promise.all([
        pool.query<{ kind: string; model: string | null; input: string; output: string; cost: string; calls: string }>(
          `select kind, model, sum(input_tokens)::text as input, sum(output_tokens)::text as output,
                  sum(cost_usd)::text as cost, count(*)::text as calls
             from usage_records where workspace_id = $1 and occurred_at >= $2 and occurred_at < $3
            group by kind, model order by kind, model`,
          [workspaceId, from, to],
        ),
        pool.query<{ n: string }>(
          `select count(*)::text as n from messages
            where workspace_id = $1 and author = 'bot' and answer is not null and created_at >= $2 and created_at < $3`,
          [workspaceId, from, to],
        ),
        pool.query<{ n: string }>(
          `select count(*)::text as n from events
            where workspace_id = $1 and type = 'conversation.handoff_requested' and created_at >= $2 and created_at < $3`,
          [workspaceId, from, to],
        ),
        pool.query<{ direction: 'in' | 'out'; category: string | null; n: string }>(
          `select direction, pricing_category as category, count(*)::text as n from messages
            where workspace_id = $1 and created_at >= $2 and created_at < $3 and status <> 'cancelled'
            group by direction, pricing_category`,
          [workspaceId, from, to],
        ),
      ]);
      const byKind = usage.rows.map((r) => ({
        kind: r.kind,
        model: r.model,
        inputTokens: Number(r.input),
        outputTokens: Number(r.output),
        costUsd: Number(r.cost),
        calls: Number(r.calls),
      }));
      const input = byKind.reduce((n, r) => n + r.inputTokens, 0);
      const output = byKind.reduce((n, r) => n + r.outputTokens, 0);
      const byPricingCategory: Record<string, number> = {};
      const counts = { in: 0, out: 0 };
      for (const r of messages.rows) {
        counts[r.direction] += Number(r.n);
        if (r.direction === 'out' && r.category) byPricingCategory[r.category] = (byPricingCategory[r.category] ?? 0) + Number(r.n);
      }
      return {
        tokens: { input, output, total: input + output },
        costUsd: Number(byKind.reduce((n, r) => n + r.costUsd, 0).toFixed(6)),
        byKind,
        answers: Number(answers.rows[0]?.n ?? 0),
        handoffs: Number(handoffs.rows[0]?.n ?? 0),
        messages: counts,
        byPricingCategory,
      };
    },
  };
}
