import { createHash } from 'node:crypto';
import type { PhoneNumber } from '../../domain/tenancy/tenancy.service';
import type { TemplateRecord } from '../../domain/templates/templates.port';
import { MetaError, unsupported } from './meta-errors';
import { createMetaValidator, type SendBody } from './meta-validator';
import type { SimulatorContext } from './simulator.context';
import { pricingFor, scheduleStatuses } from './statuses';
import { newMediaId, newWamid } from './wamid';

/**
 * The Graph endpoints the gateway calls, answered as Meta answers them: sends (and mark-as-read
 * with the typing indicator), media upload / lookup / download / delete, and a WABA's
 * message_templates (from the workspace's template catalog). Every call needs the number's access
 * token; a refused call is a MetaError, which the router renders in Meta's shape.
 */

/** Upload limits by MIME type (shared/reference/whatsapp-cloud-api.md, section 6). */
const MB = 1024 * 1024;
export const MEDIA_LIMITS: Record<string, number> = {
  'audio/aac': 16 * MB,
  'audio/amr': 16 * MB,
  'audio/mpeg': 16 * MB,
  'audio/mp4': 16 * MB,
  'audio/ogg': 16 * MB,
  'text/plain': 100 * MB,
  'application/pdf': 100 * MB,
  'application/msword': 100 * MB,
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 100 * MB,
  'application/vnd.ms-excel': 100 * MB,
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 100 * MB,
  'application/vnd.ms-powerpoint': 100 * MB,
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 100 * MB,
  'image/jpeg': 5 * MB,
  'image/png': 5 * MB,
  'image/webp': 500 * 1024,
  'video/mp4': 16 * MB,
  'video/3gpp': 16 * MB,
};
/** Uploaded media ids live 30 days; a lookup URL 5 minutes. */
const UPLOAD_TTL_S = 30 * 24 * 3600;

export interface SendResponse {
  messaging_product: 'whatsapp';
  contacts: { input: string; wa_id: string }[];
  messages: { id: string; message_status?: string }[];
}

export interface GraphApi {
  /** POST /{phone-number-id}/messages: a message, or a mark-as-read (with typing indicator). */
  messages(phoneNumberId: string, token: string | undefined, body: unknown, apiVersion: string): Promise<SendResponse | { success: true }>;
  upload(phoneNumberId: string, token: string | undefined, form: { messagingProduct: unknown; file: { data: Buffer; type: string; name: string | null } | null }): Promise<{ id: string }>;
  mediaInfo(mediaId: string, token: string | undefined, phoneNumberId?: string): Promise<Record<string, unknown>>;
  download(lookasideToken: string, token: string | undefined): Promise<{ data: Buffer; mimeType: string } | null>;
  deleteMedia(mediaId: string, token: string | undefined): Promise<{ success: true }>;
  templates(wabaId: string, token: string | undefined, q: { limit?: string; after?: string; status?: string; name?: string }): Promise<Record<string, unknown>>;
}

const placeholders = (text: unknown) => new Set(typeof text === 'string' ? [...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]) : []).size;

/** Meta's template checks at send time: exists in that language, approved, parameter counts. */
function checkTemplate(catalog: TemplateRecord[], number: PhoneNumber, template: Record<string, unknown>): TemplateRecord {
  const name = String(template.name ?? '');
  const code = String((template.language as { code?: unknown } | undefined)?.code ?? '');
  const found = catalog.find((t) => t.wabaId === number.wabaId && t.name === name && t.language === code && t.status !== 'DELETED');
  if (!found) throw new MetaError(132001, { details: `template name (${name}) does not exist in ${code}` });
  if (found.status === 'PAUSED') throw new MetaError(132015);
  if (found.status === 'DISABLED') throw new MetaError(132016);
  if (found.status !== 'APPROVED') throw new MetaError(132001, { details: `template name (${name}) is ${found.status} in ${code}, not APPROVED` });
  const components = (Array.isArray(template.components) ? template.components : []) as { type?: string; parameters?: unknown[] }[];
  for (const kind of ['header', 'body']) {
    const def = (found.components as { type?: string; format?: string; text?: string }[]).find((c) => (c.type ?? '').toLowerCase() === kind);
    const textual = def && (kind === 'body' || (def.format ?? 'TEXT').toUpperCase() === 'TEXT');
    const expected = def ? (textual ? placeholders(def.text) : 1) : 0;
    const given = components.filter((c) => (c.type ?? '').toLowerCase() === kind).reduce((n, c) => n + (c.parameters?.length ?? 0), 0);
    if (expected !== given) {
      throw new MetaError(132000, { details: `${kind}: number of localizable_params (${given}) does not match the expected number of params (${expected})` });
    }
  }
  return found;
}

export function createGraphApi(ctx: SimulatorContext): GraphApi {
  const validator = createMetaValidator();

  async function numberFor(phoneNumberId: string, token: string | undefined, method: 'get' | 'post'): Promise<PhoneNumber> {
    const number = await ctx.number(phoneNumberId);
    if (!number) throw unsupported(method, phoneNumberId);
    await ctx.authorize(token, number);
    return number;
  }

  async function markRead(number: PhoneNumber, body: unknown): Promise<{ success: true }> {
    const read = validator.read(body);
    const target = await ctx.store.entry(read.message_id);
    if (!target || target.phoneNumberId !== number.phoneNumberId || target.from !== 'customer') {
      throw new MetaError(100, { details: `Invalid message_id: no message ${read.message_id} from a customer of this number` });
    }
    // Like WhatsApp: reading a message reads every earlier one of the chat.
    const chat = await ctx.store.chat(number.phoneNumberId, target.waId);
    const upTo = chat.findIndex((e) => e.id === target.id);
    for (const e of chat.slice(0, upTo + 1)) {
      if (e.from === 'customer' && (await ctx.store.setStatus(e.id, 'read'))) {
        ctx.publish(number.workspaceId, { kind: 'status', phone_number_id: number.phoneNumberId, wa_id: target.waId, id: e.id, status: 'read' });
      }
    }
    if (read.typing_indicator) ctx.publish(number.workspaceId, { kind: 'typing', phone_number_id: number.phoneNumberId, wa_id: target.waId });
    return { success: true };
  }

  async function send(number: PhoneNumber, body: SendBody, apiVersion: string): Promise<SendResponse> {
    if (body.recipient_type === 'group') throw new MetaError(131009, { details: 'Group messages are not available on this number.' });
    const waId = body.to.replace(/\D/g, '');
    if ((number.displayNumber ?? '').replace(/\D/g, '') === waId) throw new MetaError(131021);
    // A fault queued for this send answers instead of WhatsApp (or fails it after acceptance).
    const fault = await ctx.store.takeFault(number.workspaceId, number.phoneNumberId, waId);
    const faultError = fault
      ? new MetaError(fault.code, { message: fault.message ?? undefined, details: fault.details ?? undefined, status: fault.http_status ?? undefined })
      : undefined;
    if (faultError && fault?.delivery === 'response') throw faultError;

    let template: TemplateRecord | undefined;
    if (body.type === 'template') template = checkTemplate(await ctx.templates(number.workspaceId), number, body.template as Record<string, unknown>);
    // Media sent by id must have been uploaded: Meta accepts the send, then fails it (131053).
    const media = body[body.type] as { id?: unknown } | undefined;
    let failure = faultError;
    if (!failure && ['image', 'video', 'audio', 'document', 'sticker'].includes(body.type) && typeof media?.id === 'string') {
      const stored = await ctx.store.media(media.id);
      if (!stored || stored.phoneNumberId !== number.phoneNumberId) failure = new MetaError(131053, { details: `Media id ${media.id} was not found for this number.` });
    }

    const wamid = newWamid(waId, 'out');
    const at = ctx.now().toISOString();
    if (await ctx.store.saveCustomer(number.phoneNumberId, { wa_id: waId, name: '', created_at: at })) {
      ctx.publish(number.workspaceId, { kind: 'customer', phone_number_id: number.phoneNumberId, customer: { wa_id: waId, name: '', created_at: at } });
    }
    const { messaging_product: _p, recipient_type: _r, to: _t, ...message } = body;
    const entry = { id: wamid, from: 'business' as const, type: body.type, at, message, status: 'sending' as const };
    await ctx.store.append(number.phoneNumberId, waId, entry);
    ctx.publish(number.workspaceId, { kind: 'message', phone_number_id: number.phoneNumberId, wa_id: waId, message: entry });
    scheduleStatuses(ctx, { number, wamid, waId, pricing: pricingFor(template?.category ?? null), apiVersion, failure });
    return {
      messaging_product: 'whatsapp',
      contacts: [{ input: body.to, wa_id: waId }],
      // Marketing templates are paced: Meta says whether it accepted or holds them.
      messages: [{ id: wamid, ...(template?.category === 'MARKETING' ? { message_status: 'accepted' } : {}) }],
    };
  }

  async function ownerOf(mediaId: string, token: string | undefined, method: 'get' | 'delete') {
    const media = await ctx.store.media(mediaId);
    const owner = media ? await ctx.number(media.phoneNumberId) : null;
    if (!media || !owner) throw unsupported(method, mediaId);
    // Any number of the owner's business account may use its media.
    const siblings = (await ctx.numbers.all()).filter((n) => n.workspaceId === owner.workspaceId && n.wabaId === owner.wabaId);
    await ctx.authorize(token, ...(siblings.length ? siblings : [owner]));
    return { media, owner };
  }

  return {
    async messages(phoneNumberId, token, body, apiVersion) {
      const number = await numberFor(phoneNumberId, token, 'post');
      if (body && typeof body === 'object' && (body as { status?: unknown }).status !== undefined) return markRead(number, body);
      return send(number, validator.send(body), apiVersion);
    },

    async upload(phoneNumberId, token, form) {
      const number = await numberFor(phoneNumberId, token, 'post');
      if (form.messagingProduct === undefined) throw new MetaError(100, { message: 'The parameter messaging_product is required.', details: 'The parameter messaging_product is required.' });
      if (form.messagingProduct !== 'whatsapp') throw new MetaError(100, { details: 'Param messaging_product must be whatsapp.' });
      if (!form.file) throw new MetaError(100, { message: 'The parameter file is required.', details: 'The parameter file is required.' });
      const type = form.file.type.split(';')[0]?.trim().toLowerCase() ?? '';
      const limit = MEDIA_LIMITS[type];
      if (limit === undefined) {
        throw new MetaError(100, { details: `Param file must be a file with one of the following types: ${Object.keys(MEDIA_LIMITS).join(', ')}. Received file of type '${type}'.` });
      }
      if (form.file.data.length > limit) throw new MetaError(131053, { details: `Media file size ${form.file.data.length} bytes exceeds the ${limit} bytes allowed for ${type}.` });
      if (form.file.data.length === 0) throw new MetaError(131053, { details: 'The uploaded file is empty.' });
      const id = newMediaId();
      await ctx.store.putMedia(
        {
          id,
          phoneNumberId: number.phoneNumberId,
          data: form.file.data,
          mimeType: type,
          sha256: createHash('sha256').update(form.file.data).digest('hex'),
          filename: form.file.name,
          createdAt: ctx.now().toISOString(),
        },
        UPLOAD_TTL_S,
      );
      return { id };
    },

    async mediaInfo(mediaId, token, phoneNumberId) {
      const { media } = await ownerOf(mediaId, token, 'get');
      if (phoneNumberId !== undefined && phoneNumberId !== media.phoneNumberId) throw unsupported('get', mediaId);
      const lookaside = await ctx.store.lookaside(media.id);
      return {
        messaging_product: 'whatsapp',
        url: `${await ctx.gatewayUrl()}/sandbox/graph/lookaside/${lookaside}`,
        mime_type: media.mimeType,
        sha256: media.sha256,
        file_size: String(media.data.length),
        id: media.id,
      };
    },

    async download(lookasideToken, token) {
      const mediaId = await ctx.store.resolveLookaside(lookasideToken);
      if (!mediaId) return null;
      const { media } = await ownerOf(mediaId, token, 'get');
      return { data: media.data, mimeType: media.mimeType };
    },

    async deleteMedia(mediaId, token) {
      await ownerOf(mediaId, token, 'delete');
      await ctx.store.deleteMedia(mediaId);
      return { success: true };
    },

    async templates(wabaId, token, q) {
      const numbers = (await ctx.numbers.all()).filter((n) => n.wabaId === wabaId);
      const first = numbers[0];
      if (!first || !/^\d{1,32}$/.test(wabaId)) throw unsupported('get', wabaId);
      await ctx.authorize(token, ...numbers);
      const limit = Math.min(Math.max(Number(q.limit ?? 25) || 25, 1), 1000);
      const offset = q.after ? Number(Buffer.from(q.after, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw new MetaError(100, { details: 'Param after is not a valid cursor.' });
      const all = (await ctx.templates(first.workspaceId))
        .filter((t) => t.wabaId === wabaId && t.status !== 'DELETED')
        .filter((t) => (q.status ? t.status === q.status.toUpperCase() : true) && (q.name ? t.name.includes(q.name) : true))
        .sort((a, b) => a.name.localeCompare(b.name) || a.language.localeCompare(b.language));
      const page = all.slice(offset, offset + limit);
      const cursor = (n: number) => Buffer.from(String(n), 'utf8').toString('base64url');
      const more = offset + limit < all.length;
      const base = `${await ctx.gatewayUrl()}/sandbox/graph/v23.0/${wabaId}/message_templates`;
      return {
        data: page.map((t) => ({
          name: t.name,
          parameter_format: t.parameterFormat,
          components: t.components,
          language: t.language,
          status: t.status,
          category: t.category,
          id: t.metaTemplateId ?? t.id,
        })),
        paging: {
          cursors: { before: cursor(offset), after: cursor(offset + page.length) },
          ...(more ? { next: `${base}?limit=${limit}&after=${cursor(offset + page.length)}` } : {}),
        },
      };
    },
  };
}
