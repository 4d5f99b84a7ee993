import { Router } from 'express';
import { z } from 'zod';
import type { KnowledgeGapsRepo } from '../../domain/agent/agent-repo.port';
import { agentSettingsSchema, resolveAgentSettings, settingsView, type AgentDefaults } from '../../domain/agent/agent-settings';
import { querySchema, type QueryService } from '../../domain/agent/query.service';
import { listQuerySchema } from '../../domain/shared/pagination';
import type { TenancyService } from '../../domain/tenancy/tenancy.service';
import type { UsageRepo } from '../../domain/usage/usage.port';
import { usageView } from '../../domain/usage/usage-view';
import { knowledgeGapView } from '../../domain/agent/knowledge-gap-view';
import { errors } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { principalOf, requireScope } from '../middleware/auth';
import { listOf } from '../serialize';
import { parseInput } from '../validate';

export const gapsQuery = listQuerySchema.extend({ min_count: z.coerce.number().int().min(1).max(1_000_000).optional() });

export const usageQuery = z.strictObject({
  from: z.iso.datetime({ offset: true, message: 'from must be an ISO 8601 date-time, like 2026-11-01T00:00:00Z' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'to must be an ISO 8601 date-time, like 2026-12-01T00:00:00Z' }).optional(),
});

/** The agent's API: ask it (POST /v1/query), its settings, its knowledge gaps, and usage. */
export function agentRoutes(deps: {
  query: QueryService;
  tenancy: TenancyService;
  gaps: KnowledgeGapsRepo;
  usageRepo: UsageRepo;
  agentDefaults: AgentDefaults;
  logger: Logger;
}): Router {
  const router = Router();

  router.post('/v1/query', requireScope('agent:query'), async (req, res) => {
    const input = parseInput(querySchema, req.body);
    const workspace = await deps.tenancy.getWorkspace(principalOf(res).workspaceId);
    if (!input.stream) {
      res.json(await deps.query.ask(workspace, input));
      return;
    }
    // Server-Sent Events: `delta` events with text, then one `final` event with sources and usage.
    const events = deps.query.stream(workspace, input);
    const first = await events.next();
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    const write = (e: { type: string } & Record<string, unknown>) => {
      const { type, ...data } = e;
      res.write(`event: ${type}\ndata: ${JSON.stringify(type === 'final' ? data.result : data)}\n\n`);
    };
    try {
      if (!first.done) write(first.value);
      for await (const e of { [Symbol.asyncIterator]: () => events }) {
        if (closed) break;
        write(e);
      }
    } catch (e) {
      // Headers are gone: the client learns it from an error event, the log keeps the cause.
      deps.logger.error({ err: e, request_id: res.locals.requestId }, 'streamed answer failed');
      res.write(`event: error\ndata: ${JSON.stringify({ error: { type: 'api_error', code: 'internal_error', message: 'The answer could not be completed.', request_id: res.locals.requestId } })}\n\n`);
    }
    res.end();
  });

  router.get('/v1/agent/settings', requireScope('agent:query'), async (_req, res) => {
    const w = await deps.tenancy.getWorkspace(principalOf(res).workspaceId);
    res.json(settingsView(resolveAgentSettings(w.name, w.settings.agent, deps.agentDefaults)));
  });

  router.patch('/v1/agent/settings', requireScope('knowledge:write'), async (req, res) => {
    const patch = parseInput(agentSettingsSchema, req.body);
    const p = principalOf(res);
    const w = await deps.tenancy.getWorkspace(p.workspaceId);
    const stored = agentSettingsSchema.safeParse(w.settings.agent ?? {});
    const current = stored.success ? stored.data : {};
    const next = { ...current, ...patch, ...(patch.persona ? { persona: { ...current.persona, ...patch.persona } } : {}) };
    const updated = await deps.tenancy.setWorkspaceSetting(p.workspaceId, 'agent', next);
    res.json(settingsView(resolveAgentSettings(updated.name, updated.settings.agent, deps.agentDefaults)));
  });

  router.get('/v1/knowledge-gaps', requireScope('knowledge:read'), async (req, res) => {
    const q = parseInput(gapsQuery, req.query, 'query');
    const page = await deps.gaps.list(principalOf(res).workspaceId, { minCount: q.min_count }, { limit: q.limit, startingAfter: q.starting_after });
    res.json(listOf(page.items.map(knowledgeGapView), page.hasMore));
  });

  router.get('/v1/usage', requireScope('usage:read'), async (req, res) => {
    const q = parseInput(usageQuery, req.query, 'query');
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
    if (from.getTime() >= to.getTime()) throw errors.invalidRequest('from must be before to', 'from');
    const u = await deps.usageRepo.summary(principalOf(res).workspaceId, from, to);
    res.json(usageView(u, from, to));
  });

  return router;
}
