import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { GraphApi } from '../../adapters/simulator/graph-api';
import { graphRouter, GRAPH_MOUNT } from '../../adapters/simulator/graph.router';
import type { PhoneEvent, PhoneEvents } from '../../adapters/simulator/phone-events';
import type { CustomerInput, CustomerMessage, FaultInput, Phones } from '../../adapters/simulator/phones';
import type { ConversationsService } from '../../domain/conversations/conversations.service';
import type { EventStreams } from '../../domain/events/event-streams';
import type { ApiKeysService } from '../../domain/keys/api-keys.service';
import type { PhoneNumber, TenancyService } from '../../domain/tenancy/tenancy.service';
import { AppError, errors } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { authenticate, principalOf, requireScope } from '../middleware/auth';
import { jsonBody } from '../middleware/json-body';
import { parseInput } from '../validate';
import { CONSOLE_CSP } from './console.route';
import type { LiveConnections } from './events.route';

/**
 * The sandbox: the Cloud API simulator's Graph endpoints (/sandbox/graph, authenticated like
 * Meta's with the number's access token) and, unless SANDBOX_ENABLED=false, the customer chat page
 * (/sandbox) and its API (/sandbox/api). The page API needs an API key with messages:send and
 * conversations:read, acts only on the workspace's sandbox numbers, and is the fault-injection API.
 */
export interface SandboxRouteDeps {
  graph: GraphApi;
  phones: Phones;
  phoneEvents: Pick<PhoneEvents, 'subscribe'>;
  apiKeys: Pick<ApiKeysService, 'authenticate'>;
  tenancy: Pick<TenancyService, 'listNumbers'>;
  conversations: Pick<ConversationsService, 'list'>;
  streams: EventStreams;
  live: LiveConnections;
  heartbeatMs: number;
  logger: Logger;
  /** false: only the Graph endpoints (which test keys need); no page, no page API. */
  pageEnabled: boolean;
  dir?: string;
}

export const customerInputSchema = z.strictObject({
  wa_id: z
    .string()
    .trim()
    .transform((v) => v.replace(/[\s()+-]/g, ''))
    .pipe(z.string().regex(/^[1-9]\d{6,14}$/, { message: 'must be a phone number with its country code (7 to 15 digits)' })),
  name: z.string().trim().min(1, { message: 'must not be empty' }).max(80),
}) satisfies z.ZodType<CustomerInput>;

export const customerMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string().trim().min(1, { message: 'must not be empty' }).max(4096) }),
  z.strictObject({ type: z.literal('image'), media_id: z.string().regex(/^\d{1,32}$/), caption: z.string().trim().max(1024).optional() }),
  z.strictObject({
    type: z.literal('location'),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: z.string().trim().max(200).optional(),
    address: z.string().trim().max(500).optional(),
  }),
  z.strictObject({ type: z.literal('button_reply'), reply_to: z.string().min(1).max(512), id: z.string().min(1).max(256) }),
  z.strictObject({ type: z.literal('list_reply'), reply_to: z.string().min(1).max(512), id: z.string().min(1).max(200) }),
]) satisfies z.ZodType<CustomerMessage>;

export const faultInputSchema = z.strictObject({
  code: z.number().int().min(1).max(9_999_999),
  count: z.number().int().min(1).max(1000).default(1),
  recipient: z.string().transform((v) => v.replace(/\D/g, '')).pipe(z.string().min(5).max(20)).optional(),
  phone_number_id: z.string().regex(/^\d{1,32}$/).optional(),
  delivery: z.enum(['response', 'status']).default('response'),
  message: z.string().min(1).max(500).optional(),
  details: z.string().min(1).max(1000).optional(),
  http_status: z.number().int().min(400).max(599).optional(),
}) satisfies z.ZodType<FaultInput, unknown>;

/** The console's policy, but photos shown from fetched blobs. */
export const SANDBOX_CSP = CONSOLE_CSP.replace("img-src 'self' data:", "img-src 'self' data: blob:");

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css)$/;
const CONVERSATION_EVENTS = new Set(['conversation.takeover', 'conversation.handback', 'conversation.handoff_requested', 'conversation.closed', 'conversation.reopened']);

/** The page's assets: beside this file's directory when running from src, else in src/http/sandbox above it or under the working directory. */
export function findSandboxDir(from: string = __dirname, cwd: string = process.cwd()): string {
  const candidates = [path.resolve(from, '..', 'sandbox')];
  for (let dir = path.resolve(from); path.dirname(dir) !== dir; dir = path.dirname(dir)) candidates.push(path.join(dir, 'src', 'http', 'sandbox'));
  candidates.push(path.resolve(cwd, 'src', 'http', 'sandbox'));
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'index.html')));
  if (!found) throw new Error(`the sandbox page's assets (src/http/sandbox) were not found above ${from} nor in ${cwd}`);
  return found;
}

const numberView = (n: PhoneNumber) => ({ object: 'sandbox_number' as const, id: n.id, phone_number_id: n.phoneNumberId, display_number: n.displayNumber, waba_id: n.wabaId });

export function sandboxRoutes(deps: SandboxRouteDeps): Router {
  const router = Router();
  router.use(GRAPH_MOUNT, graphRouter({ graph: deps.graph, logger: deps.logger }));
  if (!deps.pageEnabled) return router;

  const dir = deps.dir ?? findSandboxDir();
  const sendAsset = async (res: Response, name: string) => {
    if (!ASSET_NAME.test(name)) return false;
    const body = await fs.promises.readFile(path.join(dir, name)).catch(() => undefined);
    if (!body) return false;
    res.set({ 'Content-Security-Policy': SANDBOX_CSP, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
    res.type(CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream').send(body);
    return true;
  };
  router.get(['/sandbox', '/sandbox/'], async (_req, res) => {
    await sendAsset(res, 'index.html');
  });

  const api = Router();
  api.use(authenticate(deps.apiKeys), requireScope('messages:send'), requireScope('conversations:read'));
  const workspaceOf = (res: Response) => principalOf(res).workspaceId;
  const sandboxNumbers = async (res: Response) => (await deps.tenancy.listNumbers(workspaceOf(res))).filter((n) => n.sandbox);
  async function numberOf(req: Request, res: Response): Promise<PhoneNumber> {
    const ref = String(req.params.number);
    const n = (await deps.tenancy.listNumbers(workspaceOf(res))).find((x) => x.id === ref || x.phoneNumberId === ref);
    if (!n) throw errors.notFound('phone_number', ref);
    if (!n.sandbox) {
      throw new AppError({ type: 'permission_error', code: 'not_a_sandbox_number', status: 403, param: 'number', message: `${ref} is a live WhatsApp number: the sandbox only acts on sandbox numbers.` });
    }
    return n;
  }
  const waIdOf = (req: Request) => String(req.params.waId).replace(/\D/g, '');

  api.get('/numbers', async (_req, res) => {
    res.json({ object: 'list', data: (await sandboxNumbers(res)).map(numberView), has_more: false, next_cursor: null });
  });

  api.get('/numbers/:number/customers', async (req, res) => {
    const number = await numberOf(req, res);
    const customers = await deps.phones.customers(number);
    const conversations = new Map<string, { id: string; mode: string; assignee: string | null }>();
    let startingAfter: string | undefined;
    for (let page = 0; page < 5; page++) {
      const p = await deps.conversations.list(workspaceOf(res), { number: number.id }, { limit: 200, startingAfter });
      for (const c of p.items) if (c.contact.waId) conversations.set(c.contact.waId, { id: c.id, mode: c.mode, assignee: c.assigneeName ?? c.assigneeId });
      if (!p.hasMore) break;
      startingAfter = p.items[p.items.length - 1]?.id;
    }
    const data = customers.map((c) => ({ object: 'sandbox_customer', ...c, conversation: conversations.get(c.wa_id) ?? null }));
    res.json({ object: 'list', data, has_more: false, next_cursor: null });
  });

  api.post('/numbers/:number/customers', ...jsonBody('16kb'), async (req, res) => {
    const number = await numberOf(req, res);
    const customer = await deps.phones.addCustomer(number, parseInput(customerInputSchema, req.body));
    res.status(201).json({ object: 'sandbox_customer', ...customer, conversation: null });
  });

  api.get('/numbers/:number/customers/:waId/messages', async (req, res) => {
    const entries = await deps.phones.chat(await numberOf(req, res), waIdOf(req));
    res.json({ object: 'list', data: entries.map((e) => ({ object: 'sandbox_message', ...e })), has_more: false, next_cursor: null });
  });

  api.post('/numbers/:number/customers/:waId/messages', ...jsonBody('64kb'), async (req, res) => {
    const number = await numberOf(req, res);
    const entry = await deps.phones.send(number, waIdOf(req), parseInput(customerMessageSchema, req.body));
    res.status(entry.status === 'delivered' ? 201 : 202).json({ object: 'sandbox_message', ...entry });
  });

  api.post('/numbers/:number/media', express.raw({ type: ['image/*'], limit: '5mb' }), async (req, res) => {
    const number = await numberOf(req, res);
    if (!Buffer.isBuffer(req.body)) throw errors.invalidRequest('Send the photo as the request body with its Content-Type (image/jpeg or image/png).', 'file', 'unsupported_media_type');
    res.status(201).json({ object: 'sandbox_media', ...(await deps.phones.upload(number, req.body, req.get('content-type') ?? '')) });
  });

  api.get('/media/:id', async (req, res) => {
    const media = await deps.phones.media(await sandboxNumbers(res), String(req.params.id));
    res.set({ 'Content-Type': media.mimeType, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, max-age=3600' }).send(media.data);
  });

  api.post('/faults', ...jsonBody('16kb'), async (req, res) => {
    const input = parseInput(faultInputSchema, req.body);
    if (input.phone_number_id && !(await deps.tenancy.listNumbers(workspaceOf(res))).some((n) => n.phoneNumberId === input.phone_number_id)) {
      throw errors.invalidRequest(`No number ${input.phone_number_id} in this workspace.`, 'phone_number_id', 'number_not_found');
    }
    res.status(201).json({ object: 'sandbox_fault', ...(await deps.phones.addFault(workspaceOf(res), input)) });
  });
  api.get('/faults', async (_req, res) => {
    res.json({ object: 'list', data: (await deps.phones.faults(workspaceOf(res))).map((f) => ({ object: 'sandbox_fault', ...f })), has_more: false, next_cursor: null });
  });
  api.delete('/faults', async (_req, res) => {
    res.json({ object: 'list', deleted: await deps.phones.removeFaults(workspaceOf(res)) });
  });
  api.delete('/faults/:id', async (req, res) => {
    const id = String(req.params.id);
    if ((await deps.phones.removeFaults(workspaceOf(res), id)) === 0) throw errors.notFound('sandbox_fault', id);
    res.json({ object: 'sandbox_fault', id, deleted: true });
  });

  api.get('/stream', async (req, res) => stream(req, res));
  router.use('/sandbox/api', api);

  router.get('/sandbox/:asset', async (req, res, next) => {
    if (!(await sendAsset(res, String(req.params.asset)))) next();
  });

  /**
   * The page's live feed (Server-Sent Events): what happens on the workspace's sandbox phones,
   * and the gateway's conversation events (a person took over, the bot is back) for their chats.
   */
  async function stream(_req: Request, res: Response) {
    const workspaceId = workspaceOf(res);
    const numbers = new Set((await sandboxNumbers(res)).map((n) => n.phoneNumberId));
    const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    let started = false;
    const early: string[] = [];
    const write = (chunk: string) => (started ? res.write(chunk) : early.push(chunk));
    let end = () => {};
    let gone = false;
    res.on('close', () => {
      gone = true;
      end();
    });
    const stopPhones = await deps.phoneEvents
      .subscribe(workspaceId, (e: PhoneEvent) => {
        if (numbers.has(e.phone_number_id)) write(frame(e.kind, e));
      })
      .catch((e: unknown) => {
        throw errors.unavailable('The sandbox live stream is not available right now (Redis is not answering).', e);
      });
    let listener;
    try {
      listener = await deps.streams.open({
        workspaceId,
        deliver(e) {
          const c = (e.data as { conversation?: { number?: { phone_number_id?: string }; contact?: { wa_id?: string | null }; mode?: string; assignee?: { name?: string | null } | null } }).conversation;
          if (!CONVERSATION_EVENTS.has(e.type) || !c?.number?.phone_number_id || !numbers.has(c.number.phone_number_id)) return;
          const agent = (e.data as { agent?: { name?: string | null } | null }).agent;
          write(
            frame('conversation', {
              kind: 'conversation',
              type: e.type,
              phone_number_id: c.number.phone_number_id,
              wa_id: c.contact?.wa_id ?? null,
              mode: c.mode,
              agent: agent?.name ?? c.assignee?.name ?? null,
              reason: (e.data as { reason?: string }).reason ?? null,
              at: e.createdAt.toISOString(),
            }),
          );
        },
        onError: (e) => {
          deps.logger.warn({ err: { message: e.message } }, 'sandbox stream failed; closing it');
          end();
        },
      });
    } catch (e) {
      stopPhones();
      throw e;
    }
    const opened = listener;
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    started = true;
    for (const chunk of early.splice(0)) res.write(chunk);
    const heartbeat = setInterval(() => {
      res.write(': ping\n\n');
      opened.poll();
    }, deps.heartbeatMs);
    let ended = false;
    const forget = deps.live.add(() => end());
    end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      stopPhones();
      opened.close();
      forget();
      res.end();
    };
    res.on('error', end);
    if (gone) end();
  }

  return router;
}
