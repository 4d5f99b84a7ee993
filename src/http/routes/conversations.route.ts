import { Router } from 'express';
import { z } from 'zod';
import { conversationView, noteView, type TakeoverView } from '../../domain/conversations/conversation-view';
import type { AgentRef } from '../../domain/conversations/conversations.port';
import type { ConversationsService } from '../../domain/conversations/conversations.service';
import { messageView } from '../../domain/messages/message-view';
import type { IdempotencyRepo } from '../../domain/shared/idempotency';
import { listQuerySchema } from '../../domain/shared/pagination';
import { respondIdempotently } from '../idempotent';
import { principalOf, requireScope } from '../middleware/auth';
import { requestIdOf } from '../middleware/request-id';
import { listOf } from '../serialize';
import { parseInput } from '../validate';

export const agentSchema = z.strictObject({
  id: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200).optional(),
});
const toAgent = (a: z.output<typeof agentSchema> | undefined): AgentRef | null => (a ? { id: a.id, name: a.name ?? null } : null);

export const listConversationsQuery = listQuerySchema.extend({
  mode: z.enum(['bot', 'pending_human', 'human']).optional(),
  status: z.enum(['open', 'closed']).optional(),
  number: z.string().trim().min(1).max(64).optional(),
  assignee: z.string().trim().min(1).max(200).optional(),
  updated_since: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, like 2026-11-24T10:00:00Z' }).optional(),
  q: z.string().trim().min(1).max(200).optional(),
});
export const takeoverBody = z.strictObject({ agent: agentSchema, force: z.boolean().optional() });
export const agentOnlyBody = z.strictObject({ agent: agentSchema.optional() });
export const noteBody = z.strictObject({ agent: agentSchema.optional(), body: z.string().trim().min(1).max(10_000) });
/** The reply's own field; the rest is a message (POST /v1/messages without to/from), parsed by the service. */
export const replyEnvelope = z.looseObject({ agent: agentSchema.optional() });

/** The conversations API: reading them, and what a human agent does with one. */
export function conversationsRoutes(deps: { conversations: ConversationsService; idempotency: IdempotencyRepo }): Router {
  const router = Router();
  const read = requireScope('conversations:read');
  const write = requireScope('conversations:write');
  const c = deps.conversations;
  const ws = (res: Parameters<typeof principalOf>[0]) => principalOf(res).workspaceId;
  const id = (p: Record<string, string | string[]>) => String(p.id);

  router.get('/v1/conversations', read, async (req, res) => {
    const q = parseInput(listConversationsQuery, req.query, 'query');
    const page = await c.list(
      ws(res),
      { mode: q.mode, status: q.status, number: q.number, assignee: q.assignee, updatedSince: q.updated_since ? new Date(q.updated_since) : undefined, q: q.q },
      { limit: q.limit, startingAfter: q.starting_after },
    );
    res.json(listOf(page.items.map((x) => conversationView(x)), page.hasMore));
  });

  router.get('/v1/conversations/:id', read, async (req, res) => {
    res.json(conversationView(await c.get(ws(res), id(req.params))));
  });

  router.get('/v1/conversations/:id/messages', read, async (req, res) => {
    const q = parseInput(listQuerySchema, req.query, 'query');
    const page = await c.messages(ws(res), id(req.params), { limit: q.limit, startingAfter: q.starting_after });
    res.json(listOf(page.items.map(messageView), page.hasMore));
  });

  router.post('/v1/conversations/:id/takeover', write, async (req, res) => {
    const body = parseInput(takeoverBody, req.body);
    const r = await c.takeover(ws(res), id(req.params), toAgent(body.agent) as AgentRef, body.force ?? false);
    const taken: TakeoverView = { ...conversationView(r.conversation), cancelled_message_ids: r.cancelled };
    res.json(taken);
  });

  router.post('/v1/conversations/:id/reply', write, requireScope('messages:send'), async (req, res) => {
    await respondIdempotently(deps.idempotency, req, res, `/v1/conversations/${id(req.params)}/reply`, async () => {
      const { agent, ...msg } = parseInput(replyEnvelope, req.body);
      const row = await c.reply(principalOf(res), id(req.params), msg, toAgent(agent), { correlationId: requestIdOf(res) });
      return { status: 202, body: messageView(row) };
    });
  });

  router.post('/v1/conversations/:id/handback', write, async (req, res) => {
    const body = parseInput(agentOnlyBody, req.body ?? {});
    res.json(conversationView(await c.handback(ws(res), id(req.params), toAgent(body.agent))));
  });

  router.post('/v1/conversations/:id/close', write, async (req, res) => {
    const body = parseInput(agentOnlyBody, req.body ?? {});
    res.json(conversationView(await c.close(ws(res), id(req.params), toAgent(body.agent))));
  });

  router.post('/v1/conversations/:id/reopen', write, async (req, res) => {
    const body = parseInput(agentOnlyBody, req.body ?? {});
    res.json(conversationView(await c.reopen(ws(res), id(req.params), toAgent(body.agent))));
  });

  router.get('/v1/conversations/:id/notes', read, async (req, res) => {
    const q = parseInput(listQuerySchema, req.query, 'query');
    const page = await c.notes(ws(res), id(req.params), { limit: q.limit, startingAfter: q.starting_after });
    res.json(listOf(page.items.map(noteView), page.hasMore));
  });

  router.post('/v1/conversations/:id/notes', write, async (req, res) => {
    await respondIdempotently(deps.idempotency, req, res, `/v1/conversations/${id(req.params)}/notes`, async () => {
      const body = parseInput(noteBody, req.body);
      return { status: 201, body: noteView(await c.addNote(ws(res), id(req.params), body.body, toAgent(body.agent))) };
    });
  });

  return router;
}
