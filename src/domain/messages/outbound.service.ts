import { z } from 'zod';
import { AppError, errors } from '../../lib/errors';
import { isId, newId } from '../../lib/ids';
import type { Principal } from '../keys/api-keys.service';
import type { MessageRow } from './message-view';
import type { CatalogTemplate, ConversationWindow, NewOutbound, OutboundRepo, SendingNumber } from './outbound.port';
import { FREE_FORM_TYPES, type OutboundMessage } from './outbound.schema';

/**
 * Accepting an outbound message: pick the number, find or open the conversation, enforce the
 * 24-hour window and the template catalog before Meta is ever called, store the row as queued,
 * and hand it to the number's send queue.
 */
export const windowSchema = z
  .object({
    object: z.literal('window'),
    conversation_id: z.string().nullable().meta({ description: 'Null when the contact has no conversation on that number yet.' }),
    open: z.boolean(),
    expires_at: z.iso.datetime().nullable().meta({ description: "The customer's last message + 24 h." }),
    last_inbound_at: z.iso.datetime().nullable(),
    can_send_freeform: z.boolean(),
    can_send_template: z.boolean(),
  })
  .meta({ id: 'Window', description: "The 24-hour customer service window: free-form messages only while it is open, templates always." });
export type WindowView = z.output<typeof windowSchema>;

export interface OutboundService {
  /**
   * `opts.insert` stores the row instead of the repo's plain insert (an agent's reply checks the
   * mode); `opts.correlationId` (the API request's id) goes on the send job and its log lines.
   */
  submit(
    principal: Principal,
    msg: OutboundMessage,
    author?: { kind: 'api' | 'agent' | 'bot'; id: string | null },
    opts?: { insert?: (m: NewOutbound) => Promise<MessageRow>; correlationId?: string },
  ): Promise<MessageRow>;
  get(workspaceId: string, id: string): Promise<MessageRow>;
  list: OutboundRepo['list'];
  conversationWindow(workspaceId: string, conversationId: string): Promise<WindowView>;
  contactWindow(workspaceId: string, waId: string, from: string | undefined): Promise<WindowView>;
}

export function windowView(w: ConversationWindow | null, now: Date): WindowView {
  const open = Boolean(w?.windowExpiresAt && w.windowExpiresAt.getTime() > now.getTime());
  return {
    object: 'window',
    conversation_id: w?.conversationId ?? null,
    open,
    expires_at: w?.windowExpiresAt?.toISOString() ?? null,
    last_inbound_at: w?.lastInboundAt?.toISOString() ?? null,
    can_send_freeform: open,
    can_send_template: true,
  };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const placeholders = (text: string | undefined) => new Set([...(text ?? '').matchAll(PLACEHOLDER)].map((m) => m[1])).size;

/** Parameters each component of the catalog template expects, checked against the request. */
export function checkTemplateParameters(template: CatalogTemplate, msg: Extract<OutboundMessage, { type: 'template' }>): string | undefined {
  const given = (type: string) =>
    (msg.template.components ?? []).filter((c) => c.type === type).reduce((n, c) => n + (c.parameters?.length ?? 0), 0);
  for (const kind of ['header', 'body'] as const) {
    const component = template.components.find((c) => (c.type ?? '').toLowerCase() === kind);
    const expected = component && (kind === 'body' || (component.format ?? 'TEXT').toUpperCase() === 'TEXT') ? placeholders(component.text) : component ? 1 : 0;
    const mediaHeaderWithoutParams = kind === 'header' && component && (component.format ?? 'TEXT').toUpperCase() !== 'TEXT' && given('header') === 0;
    if (!mediaHeaderWithoutParams && expected !== given(kind)) {
      return `The template's ${kind} takes ${expected} parameter${expected === 1 ? '' : 's'}, the request gives ${given(kind)}.`;
    }
  }
  return undefined;
}

function contentOf(msg: OutboundMessage): Record<string, unknown> {
  switch (msg.type) {
    case 'text':
      return { text: msg.text.body };
    case 'template':
      return { template: msg.template };
    default:
      return { [msg.type]: (msg as Record<string, unknown>)[msg.type] };
  }
}

export function createOutboundService(deps: {
  repo: OutboundRepo;
  enqueue(numberId: string, job: { workspaceId: string; messageId: string; recipient: string; correlationId?: string }): Promise<void>;
  toGraphBody(msg: OutboundMessage): Record<string, unknown>;
  now?: () => Date;
}): OutboundService {
  const now = deps.now ?? (() => new Date());

  async function resolveNumber(workspaceId: string, from: string | undefined): Promise<SendingNumber> {
    const numbers = await deps.repo.numbers(workspaceId);
    if (from === undefined) {
      if (numbers.length === 1) return numbers[0] as SendingNumber;
      throw errors.invalidRequest(
        numbers.length === 0 ? 'This workspace has no WhatsApp number yet.' : 'This workspace has several numbers: say which one in `from`.',
        'from',
      );
    }
    const n = numbers.find((x) => x.id === from || x.phoneNumberId === from);
    if (!n) throw errors.invalidRequest(`No number "${from}" in this workspace.`, 'from', 'number_not_found');
    return n;
  }

  return {
    async submit(principal, msg, author = { kind: 'api', id: null }, opts = {}) {
      const number = await resolveNumber(principal.workspaceId, msg.from);
      const waId = msg.to.replace(/^\+/, '');
      const conversation = await deps.repo.ensureConversation(principal.workspaceId, number.id, waId);
      const t = now();
      if ((FREE_FORM_TYPES as readonly string[]).includes(msg.type)) {
        const open = conversation.windowExpiresAt !== null && conversation.windowExpiresAt.getTime() > t.getTime();
        if (!open) {
          throw new AppError({
            type: 'unprocessable_error',
            code: 'window_closed',
            status: 422,
            message:
              conversation.windowExpiresAt === null
                ? 'This customer has never written to this number, so only an approved template can be sent.'
                : `The 24-hour customer service window closed at ${conversation.windowExpiresAt.toISOString()}; only approved templates can be sent until the customer writes again.`,
            details: { window_closed_at: conversation.windowExpiresAt?.toISOString() ?? null, hint: 'Send a message of type "template".' },
          });
        }
      }
      if (msg.type === 'template') {
        const template = await deps.repo.template(principal.workspaceId, number.wabaId, msg.template.name, msg.template.language.code);
        const unprocessable = (code: string, message: string) =>
          new AppError({ type: 'unprocessable_error', code, status: 422, message, param: 'template' });
        if (!template) throw unprocessable('template_not_found', `No template "${msg.template.name}" (${msg.template.language.code}) in the synced catalog of this number's account.`);
        if (template.status !== 'APPROVED') throw unprocessable('template_not_approved', `The template "${msg.template.name}" is ${template.status}, not APPROVED.`);
        const mismatch = checkTemplateParameters(template, msg);
        if (mismatch) throw unprocessable('template_params_mismatch', mismatch);
      }
      const row = await (opts.insert ?? deps.repo.insert)({
        id: newId('message'),
        workspaceId: principal.workspaceId,
        conversationId: conversation.conversationId,
        phoneNumberId: number.id,
        type: msg.type,
        content: contentOf(msg),
        author: author.kind,
        authorId: author.id,
        recipient: msg.to,
        graphBody: deps.toGraphBody(msg),
        test: principal.mode === 'test' || number.sandbox,
        metadata: msg.metadata ?? {},
        replyToWamid: msg.reply_to ?? null,
      });
      // A failure here leaves the row queued: the sweeper enqueues it (the job id is the message id).
      await deps
        .enqueue(number.id, { workspaceId: principal.workspaceId, messageId: row.id, recipient: msg.to, ...(opts.correlationId ? { correlationId: opts.correlationId } : {}) })
        .catch(() => undefined);
      return row;
    },

    async get(workspaceId, id) {
      const m = isId('message', id) ? await deps.repo.get(workspaceId, id) : null;
      if (!m) throw errors.notFound('message', id);
      return m;
    },

    list: (workspaceId, filters, page) => deps.repo.list(workspaceId, filters, page),

    async conversationWindow(workspaceId, conversationId) {
      const w = isId('conversation', conversationId) ? await deps.repo.conversationWindow(workspaceId, conversationId) : null;
      if (!w) throw errors.notFound('conversation', conversationId);
      return windowView(w, now());
    },

    async contactWindow(workspaceId, waId, from) {
      const number = await resolveNumber(workspaceId, from);
      return windowView(await deps.repo.contactWindow(workspaceId, number.id, waId.replace(/^\+/, '')), now());
    },
  };
}
