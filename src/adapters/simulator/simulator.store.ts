import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * What the simulated WhatsApp keeps, in Redis so that every gateway process sees the same phones:
 * the customers of each sandbox number, their chats (what the customer sent and what the business
 * sent them, with each message's status), uploaded and customer media, short-lived download URLs,
 * and the faults queued by the fault-injection API. Chats keep their last 500 messages for 30 days.
 */
export type ChatStatus = 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface Customer {
  wa_id: string;
  name: string;
  created_at: string;
}

export interface ChatEntry {
  /** The wamid. */
  id: string;
  from: 'customer' | 'business';
  type: string;
  at: string;
  /**
   * customer: the message object of the webhook (type, text, image, location, interactive, context);
   * business: the Graph send body without messaging_product / recipient_type / to.
   */
  message: Record<string, unknown>;
  status: ChatStatus;
  error?: { code: number; title: string };
}

export interface StoredEntry extends ChatEntry {
  phoneNumberId: string;
  waId: string;
}

export interface StoredMedia {
  id: string;
  phoneNumberId: string;
  data: Buffer;
  mimeType: string;
  /** Hex sha256 of the bytes. */
  sha256: string;
  filename: string | null;
  createdAt: string;
}

export interface Fault {
  id: string;
  code: number;
  remaining: number;
  /** Only sends to this wa_id (digits); null: any recipient. */
  recipient: string | null;
  /** Only sends from this number (Meta's phone_number_id); null: any number of the workspace. */
  phone_number_id: string | null;
  /** response: the send is refused; status: accepted, then a `failed` status webhook. */
  delivery: 'response' | 'status';
  message: string | null;
  details: string | null;
  http_status: number | null;
  created_at: string;
}

const RANK: Record<ChatStatus, number> = { sending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
const DAY = 24 * 3600;
const CHAT_TTL = 30 * DAY;
const CHAT_MAX = 500;
const LOOKASIDE_TTL = 300;

// Statuses only move forward (a late "delivered" never undoes "read"), atomically.
const SET_STATUS = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'rank') or '-1')
if cur < 0 or tonumber(ARGV[2]) <= cur then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'rank', ARGV[2], 'error', ARGV[3])
return 1`;

// Takes one use of the first fault that matches this send; the fault goes when used up.
const TAKE_FAULT = `
local n = redis.call('LLEN', KEYS[1])
for i = 0, n - 1 do
  local raw = redis.call('LINDEX', KEYS[1], i)
  local f = cjson.decode(raw)
  local okNumber = f.phone_number_id == cjson.null or f.phone_number_id == ARGV[1]
  local okRecipient = f.recipient == cjson.null or f.recipient == ARGV[2]
  if okNumber and okRecipient then
    f.remaining = f.remaining - 1
    if f.remaining <= 0 then
      redis.call('LREM', KEYS[1], 1, raw)
    else
      redis.call('LSET', KEYS[1], i, cjson.encode(f))
    end
    return raw
  end
end
return false`;

export interface SimulatorStore {
  customers(phoneNumberId: string): Promise<Customer[]>;
  customer(phoneNumberId: string, waId: string): Promise<Customer | null>;
  /** Adds the customer unless known (then renames it when `rename`); says whether it is new. */
  saveCustomer(phoneNumberId: string, customer: Customer, opts?: { rename?: boolean }): Promise<boolean>;
  append(phoneNumberId: string, waId: string, entry: ChatEntry): Promise<void>;
  entry(wamid: string): Promise<StoredEntry | null>;
  /** The last `limit` messages of a chat, oldest first. */
  chat(phoneNumberId: string, waId: string, limit?: number): Promise<ChatEntry[]>;
  /** Moves a message's status forward; false when it is unknown or already further. */
  setStatus(wamid: string, status: ChatStatus, error?: { code: number; title: string }): Promise<boolean>;
  putMedia(media: StoredMedia, ttlSeconds: number): Promise<void>;
  media(id: string): Promise<StoredMedia | null>;
  deleteMedia(id: string): Promise<boolean>;
  /** A download token valid 5 minutes, like Meta's lookaside URLs. */
  lookaside(mediaId: string): Promise<string>;
  resolveLookaside(token: string): Promise<string | null>;
  addFault(workspaceId: string, fault: Fault): Promise<void>;
  faults(workspaceId: string): Promise<Fault[]>;
  removeFaults(workspaceId: string, id?: string): Promise<number>;
  takeFault(workspaceId: string, phoneNumberId: string, recipient: string): Promise<Fault | null>;
}

export function createSimulatorStore(redis: Redis, prefix: string): SimulatorStore {
  const k = {
    customers: (pnid: string) => `${prefix}:customers:${pnid}`,
    chat: (pnid: string, wa: string) => `${prefix}:chat:${pnid}:${wa}`,
    message: (wamid: string) => `${prefix}:m:${wamid}`,
    media: (id: string) => `${prefix}:media:${id}`,
    lookaside: (token: string) => `${prefix}:lookaside:${token}`,
    faults: (ws: string) => `${prefix}:faults:${ws}`,
  };

  const toEntry = (h: Record<string, string>): StoredEntry | null => {
    if (!h.entry) return null;
    const entry = JSON.parse(h.entry) as ChatEntry;
    const error = h.error ? (JSON.parse(h.error) as { code: number; title: string }) : undefined;
    return { ...entry, status: (h.status as ChatStatus) ?? entry.status, ...(error ? { error } : {}), phoneNumberId: h.pnid ?? '', waId: h.wa ?? '' };
  };

  return {
    async customers(pnid) {
      const all = await redis.hvals(k.customers(pnid));
      return all.map((v) => JSON.parse(v) as Customer).sort((a, b) => a.created_at.localeCompare(b.created_at));
    },

    async customer(pnid, waId) {
      const v = await redis.hget(k.customers(pnid), waId);
      return v ? (JSON.parse(v) as Customer) : null;
    },

    async saveCustomer(pnid, customer, opts = {}) {
      const key = k.customers(pnid);
      const created = (await redis.hsetnx(key, customer.wa_id, JSON.stringify(customer))) === 1;
      if (!created && opts.rename) {
        const current = await this.customer(pnid, customer.wa_id);
        if (current && current.name !== customer.name) await redis.hset(key, customer.wa_id, JSON.stringify({ ...current, name: customer.name }));
      }
      await redis.expire(key, CHAT_TTL * 3);
      return created;
    },

    async append(pnid, waId, entry) {
      const { status, error, ...rest } = entry;
      await redis
        .multi()
        .hset(k.message(entry.id), { entry: JSON.stringify(rest), status, rank: String(RANK[status]), error: error ? JSON.stringify(error) : '', pnid, wa: waId })
        .expire(k.message(entry.id), CHAT_TTL)
        .rpush(k.chat(pnid, waId), entry.id)
        .ltrim(k.chat(pnid, waId), -CHAT_MAX, -1)
        .expire(k.chat(pnid, waId), CHAT_TTL)
        .exec();
    },

    async entry(wamid) {
      return toEntry(await redis.hgetall(k.message(wamid)));
    },

    async chat(pnid, waId, limit = CHAT_MAX) {
      const ids = await redis.lrange(k.chat(pnid, waId), -limit, -1);
      if (ids.length === 0) return [];
      const p = redis.pipeline();
      for (const id of ids) p.hgetall(k.message(id));
      const rows = (await p.exec()) ?? [];
      const out: ChatEntry[] = [];
      for (const [err, h] of rows) {
        const e = err ? null : toEntry(h as Record<string, string>);
        if (e) {
          const { phoneNumberId: _p, waId: _w, ...entry } = e;
          out.push(entry);
        }
      }
      return out;
    },

    async setStatus(wamid, status, error) {
      const r = await redis.eval(SET_STATUS, 1, k.message(wamid), status, String(RANK[status]), error ? JSON.stringify(error) : '');
      return r === 1;
    },

    async putMedia(m, ttl) {
      await redis
        .multi()
        .hset(k.media(m.id), { data: m.data, mime_type: m.mimeType, sha256: m.sha256, filename: m.filename ?? '', pnid: m.phoneNumberId, created_at: m.createdAt })
        .expire(k.media(m.id), ttl)
        .exec();
    },

    async media(id) {
      if (!/^\d{1,32}$/.test(id)) return null;
      const h = await redis.hgetallBuffer(k.media(id));
      if (!h.data) return null;
      const s = (b: Buffer | undefined) => b?.toString('utf8') ?? '';
      return {
        id,
        phoneNumberId: s(h.pnid),
        data: h.data,
        mimeType: s(h.mime_type),
        sha256: s(h.sha256),
        filename: s(h.filename) || null,
        createdAt: s(h.created_at),
      };
    },

    async deleteMedia(id) {
      return (await redis.del(k.media(id))) > 0;
    },

    async lookaside(mediaId) {
      const token = randomBytes(18).toString('base64url');
      await redis.set(k.lookaside(token), mediaId, 'EX', LOOKASIDE_TTL);
      return token;
    },

    async resolveLookaside(token) {
      if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return null;
      return redis.get(k.lookaside(token));
    },

    async addFault(ws, fault) {
      await redis.rpush(k.faults(ws), JSON.stringify(fault));
    },

    async faults(ws) {
      return (await redis.lrange(k.faults(ws), 0, -1)).map((v) => JSON.parse(v) as Fault);
    },

    async removeFaults(ws, id) {
      if (id === undefined) {
        const n = await redis.llen(k.faults(ws));
        await redis.del(k.faults(ws));
        return n;
      }
      const match = (await redis.lrange(k.faults(ws), 0, -1)).find((v) => (JSON.parse(v) as Fault).id === id);
      return match ? redis.lrem(k.faults(ws), 1, match) : 0;
    },

    async takeFault(ws, pnid, recipient) {
      const raw = (await redis.eval(TAKE_FAULT, 1, k.faults(ws), pnid, recipient)) as string | null;
      return raw ? (JSON.parse(raw) as Fault) : null;
    },
  };
}
