import { createHash, randomBytes } from 'node:crypto';
import type { PhoneNumber } from '../../domain/tenancy/tenancy.service';
import { AppError, errors } from '../../lib/errors';
import { maskPhone } from '../../lib/logger';
import type { SimulatorContext } from './simulator.context';
import type { ChatEntry, Customer, Fault } from './simulator.store';
import { newMediaId, newWamid } from './wamid';

/**
 * The customers' side of the simulated WhatsApp, for the /sandbox page: the customers of a
 * sandbox number, their chats, and what they send (text, a photo, a location, a tap on a reply
 * button or a list row the business offered), which reaches the gateway as Meta's signed webhook.
 * Also the fault-injection queue of a workspace. Inputs come validated by the sandbox route;
 * errors are AppErrors for the public error envelope.
 */
export interface CustomerInput {
  /** Digits with the country code, no "+". */
  wa_id: string;
  name: string;
}

export type CustomerMessage =
  | { type: 'text'; text: string }
  | { type: 'image'; media_id: string; caption?: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  /** A tap on a reply button (`id`) of the business's interactive message `reply_to`. */
  | { type: 'button_reply'; reply_to: string; id: string }
  /** A tap on a list row (`id`) of the business's interactive list `reply_to`. */
  | { type: 'list_reply'; reply_to: string; id: string };

export interface FaultInput {
  code: number;
  count: number;
  recipient?: string;
  phone_number_id?: string;
  delivery: 'response' | 'status';
  message?: string;
  details?: string;
  http_status?: number;
}

export const CUSTOMER_IMAGE_TYPES = ['image/jpeg', 'image/png'];
const CUSTOMER_IMAGE_MAX = 5 * 1024 * 1024;
/** Media a customer sent can be downloaded for 7 days, as on WhatsApp. */
const CUSTOMER_MEDIA_TTL_S = 7 * 24 * 3600;

export interface Phones {
  /** The customers, each with the last message of its chat. */
  customers(number: PhoneNumber): Promise<(Customer & { last_message: ChatEntry | null })[]>;
  addCustomer(number: PhoneNumber, input: CustomerInput): Promise<Customer>;
  chat(number: PhoneNumber, waId: string): Promise<ChatEntry[]>;
  /** The customer sends a message; resolves after the gateway's first answer to its webhook. */
  send(number: PhoneNumber, waId: string, input: CustomerMessage): Promise<ChatEntry>;
  /** A photo the customer picked, kept as WhatsApp media; its id goes into an image message. */
  upload(number: PhoneNumber, data: Buffer, mimeType: string): Promise<{ id: string }>;
  /** Bytes of media on one of these numbers (what the page shows in a chat). */
  media(numbers: PhoneNumber[], mediaId: string): Promise<{ data: Buffer; mimeType: string }>;
  addFault(workspaceId: string, input: FaultInput): Promise<Fault>;
  faults(workspaceId: string): Promise<Fault[]>;
  removeFaults(workspaceId: string, id?: string): Promise<number>;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/** The button or list row the business offered in `offer`, as the phone shows them. */
function offered(offer: ChatEntry, kind: 'button_reply' | 'list_reply', id: string): { id: string; title: string; description?: string } | undefined {
  const interactive = asObj(offer.message.interactive);
  const action = asObj(interactive.action);
  if (kind === 'button_reply' && interactive.type === 'button') {
    const reply = (Array.isArray(action.buttons) ? action.buttons : []).map((b) => asObj(asObj(b).reply)).find((r) => r.id === id);
    return reply ? { id, title: String(reply.title ?? '') } : undefined;
  }
  if (kind === 'list_reply' && interactive.type === 'list') {
    const rows = (Array.isArray(action.sections) ? action.sections : []).flatMap((s) => (Array.isArray(asObj(s).rows) ? (asObj(s).rows as unknown[]) : []));
    const row = rows.map(asObj).find((r) => r.id === id);
    return row ? { id, title: String(row.title ?? ''), ...(typeof row.description === 'string' ? { description: row.description } : {}) } : undefined;
  }
  return undefined;
}

export function createPhones(ctx: SimulatorContext): Phones {
  const known = async (number: PhoneNumber, waId: string) => {
    const customer = await ctx.store.customer(number.phoneNumberId, waId);
    if (!customer) throw errors.notFound('customer', waId);
    return customer;
  };

  async function messageBody(number: PhoneNumber, waId: string, input: CustomerMessage): Promise<Obj> {
    switch (input.type) {
      case 'text':
        return { type: 'text', text: { body: input.text } };
      case 'location':
        return {
          type: 'location',
          location: { latitude: input.latitude, longitude: input.longitude, ...(input.name ? { name: input.name } : {}), ...(input.address ? { address: input.address } : {}) },
        };
      case 'image': {
        const media = await ctx.store.media(input.media_id);
        if (!media || media.phoneNumberId !== number.phoneNumberId) throw errors.invalidRequest(`No uploaded photo "${input.media_id}" for this number.`, 'media_id');
        return {
          type: 'image',
          image: {
            ...(input.caption ? { caption: input.caption } : {}),
            mime_type: media.mimeType,
            sha256: Buffer.from(media.sha256, 'hex').toString('base64'),
            id: media.id,
          },
        };
      }
      case 'button_reply':
      case 'list_reply': {
        const offer = await ctx.store.entry(input.reply_to);
        const choice = offer && offer.phoneNumberId === number.phoneNumberId && offer.waId === waId && offer.from === 'business' ? offered(offer, input.type, input.id) : undefined;
        if (!choice) {
          throw new AppError({
            type: 'invalid_request_error',
            code: 'not_offered',
            status: 400,
            param: 'id',
            message: `The business did not offer "${input.id}" in message ${input.reply_to} to this customer.`,
          });
        }
        const display = (number.displayNumber ?? '').replace(/\D/g, '') || number.phoneNumberId;
        return { context: { from: display, id: input.reply_to }, type: 'interactive', interactive: { type: input.type, [input.type]: choice } };
      }
    }
  }

  return {
    async customers(number) {
      const all = await ctx.store.customers(number.phoneNumberId);
      return Promise.all(all.map(async (c) => ({ ...c, last_message: (await ctx.store.chat(number.phoneNumberId, c.wa_id, 1))[0] ?? null })));
    },

    async addCustomer(number, input) {
      if ((number.displayNumber ?? '').replace(/\D/g, '') === input.wa_id) {
        throw errors.invalidRequest('A customer cannot have the business number itself.', 'wa_id');
      }
      const customer = { wa_id: input.wa_id, name: input.name, created_at: ctx.now().toISOString() };
      await ctx.store.saveCustomer(number.phoneNumberId, customer, { rename: true });
      const saved = (await ctx.store.customer(number.phoneNumberId, input.wa_id)) ?? customer;
      ctx.publish(number.workspaceId, { kind: 'customer', phone_number_id: number.phoneNumberId, customer: saved });
      return saved;
    },

    async chat(number, waId) {
      await known(number, waId);
      return ctx.store.chat(number.phoneNumberId, waId);
    },

    async send(number, waId, input) {
      const customer = await known(number, waId);
      const body = await messageBody(number, waId, input);
      const now = ctx.now();
      const wamid = newWamid(waId, 'in');
      const message = { from: waId, id: wamid, timestamp: String(Math.floor(now.getTime() / 1000)), ...body };
      const { from: _f, id: _i, timestamp: _t, ...shown } = message;
      const entry: ChatEntry = { id: wamid, from: 'customer', type: String(body.type), at: now.toISOString(), message: shown, status: 'sending' };
      await ctx.store.append(number.phoneNumberId, waId, entry);
      ctx.publish(number.workspaceId, { kind: 'message', phone_number_id: number.phoneNumberId, wa_id: waId, message: entry });

      const delivery = ctx.webhooks.deliver(await ctx.webhookNumber(number), {
        contacts: [{ profile: { name: customer.name || waId }, wa_id: waId }],
        messages: [message],
      });
      const settle = async (ok: boolean) => {
        const error = ok ? undefined : { code: 131000, title: 'The gateway did not accept the webhook' };
        if (await ctx.store.setStatus(wamid, ok ? 'delivered' : 'failed', error)) {
          ctx.publish(number.workspaceId, { kind: 'status', phone_number_id: number.phoneNumberId, wa_id: waId, id: wamid, status: ok ? 'delivered' : 'failed', ...(error ? { error } : {}) });
        }
        return error;
      };
      // Meta keeps retrying a webhook the gateway refused; the phone shows it delivered once it is taken.
      const first = await delivery.first;
      if (first) {
        await settle(true);
        return { ...entry, status: 'delivered' };
      }
      ctx.logger.info({ phone_number_id: number.phoneNumberId, customer: maskPhone(waId) }, 'sandbox: the gateway did not take a customer message yet; retrying like Meta');
      ctx.background(async () => {
        await settle(await delivery.final);
      });
      return entry;
    },

    async upload(number, data, mimeType) {
      const type = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
      if (!CUSTOMER_IMAGE_TYPES.includes(type)) throw errors.invalidRequest(`A photo must be ${CUSTOMER_IMAGE_TYPES.join(' or ')}.`, 'file', 'unsupported_media_type');
      if (data.length === 0 || data.length > CUSTOMER_IMAGE_MAX) throw errors.invalidRequest('A photo must be 1 byte to 5 MB.', 'file', 'file_too_large');
      const id = newMediaId();
      const sha256 = createHash('sha256').update(data).digest('hex');
      await ctx.store.putMedia({ id, phoneNumberId: number.phoneNumberId, data, mimeType: type, sha256, filename: null, createdAt: ctx.now().toISOString() }, CUSTOMER_MEDIA_TTL_S);
      return { id };
    },

    async media(numbers, mediaId) {
      const media = await ctx.store.media(mediaId);
      if (!media || !numbers.some((n) => n.phoneNumberId === media.phoneNumberId)) throw errors.notFound('media', mediaId);
      return { data: media.data, mimeType: media.mimeType };
    },

    async addFault(workspaceId, input) {
      const fault: Fault = {
        id: `flt_${randomBytes(10).toString('hex')}`,
        code: input.code,
        remaining: input.count,
        recipient: input.recipient ?? null,
        phone_number_id: input.phone_number_id ?? null,
        delivery: input.delivery,
        message: input.message ?? null,
        details: input.details ?? null,
        http_status: input.http_status ?? null,
        created_at: ctx.now().toISOString(),
      };
      await ctx.store.addFault(workspaceId, fault);
      return fault;
    },

    faults: (workspaceId) => ctx.store.faults(workspaceId),
    removeFaults: (workspaceId, id) => ctx.store.removeFaults(workspaceId, id),
  };
}
