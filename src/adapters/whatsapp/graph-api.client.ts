import axios, { AxiosError, type AxiosInstance } from 'axios';
import { z } from 'zod';
import { GraphApiError } from '../../domain/whatsapp/graph-errors';

/**
 * The WhatsApp Cloud API (Graph) client. Every non-2xx becomes a GraphApiError carrying Meta's
 * code and a retryable / permanent class. Tokens travel only in the Authorization header of the
 * request; errors carry none of the request, so nothing logged from them holds a token.
 */
export interface GraphClientOptions {
  baseUrl: string;
  apiVersion: string;
  timeoutMs?: number;
  /** Largest media download accepted (bytes). */
  maxMediaBytes?: number;
}

const mediaInfoSchema = z.looseObject({
  url: z.string().url(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  file_size: z.union([z.string(), z.number()]).optional(),
  id: z.string().optional(),
});
export type MediaInfo = z.infer<typeof mediaInfoSchema>;

const metaErrorBody = z.object({
  error: z.looseObject({
    message: z.string().optional(),
    code: z.number().optional(),
    error_data: z.looseObject({ details: z.string().optional() }).optional(),
    fbtrace_id: z.string().optional(),
  }),
});

const sendResponseSchema = z.looseObject({
  messaging_product: z.string().optional(),
  contacts: z.array(z.looseObject({ input: z.string().optional(), wa_id: z.string().optional() })).optional(),
  messages: z.array(z.looseObject({ id: z.string().min(1), message_status: z.string().optional() })).min(1),
});

export interface SendResult {
  wamid: string;
  waId: string | undefined;
  /** Only for paced templates: accepted | held_for_quality_assessment. */
  messageStatus: string | undefined;
}

const templatePageSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.union([z.string(), z.number()]).transform(String),
      name: z.string(),
      language: z.string(),
      status: z.string(),
      category: z.string(),
      parameter_format: z.string().optional(),
      components: z.array(z.looseObject({})).optional(),
    }),
  ),
  paging: z.looseObject({ cursors: z.looseObject({ after: z.string().optional() }).optional(), next: z.string().optional() }).optional(),
});
export type GraphTemplate = z.infer<typeof templatePageSchema>['data'][number];

export interface GraphClient {
  /** Every template of a WhatsApp Business Account, all pages. */
  listTemplates(token: string, wabaId: string): Promise<GraphTemplate[]>;
  /** POST /{phone-number-id}/messages with a body built by toGraphBody. */
  sendMessage(token: string, phoneNumberId: string, body: Record<string, unknown>): Promise<SendResult>;
  getMediaInfo(token: string, mediaId: string, phoneNumberId?: string): Promise<MediaInfo>;
  downloadMedia(token: string, url: string): Promise<{ data: Buffer; contentType: string | undefined }>;
  markRead(token: string, phoneNumberId: string, wamid: string): Promise<void>;
}

function toGraphError(e: unknown, what: string): GraphApiError {
  if (e instanceof GraphApiError) return e;
  const ax = e as AxiosError;
  const status = ax.response?.status;
  let body: unknown = ax.response?.data;
  if (Buffer.isBuffer(body) || body instanceof ArrayBuffer) {
    try {
      body = JSON.parse(Buffer.from(body as Buffer).toString('utf8'));
    } catch {
      body = undefined;
    }
  }
  const parsed = metaErrorBody.safeParse(body);
  if (parsed.success) {
    const err = parsed.data.error;
    // Meta's own messages often start with the code already ("(#131047) Re-engagement message").
    const text = err.message ?? 'Graph API error';
    const coded = err.code !== undefined && text.startsWith(`(#${err.code})`) ? text : `(#${err.code ?? '?'}) ${text}`;
    return new GraphApiError({
      message: `${what}: ${coded}`,
      code: err.code,
      details: err.error_data?.details,
      httpStatus: status,
      fbtraceId: err.fbtrace_id,
    });
  }
  const reason = status ? `HTTP ${status}` : ax.code === 'ECONNABORTED' || ax.code === 'ETIMEDOUT' ? 'timeout' : (ax.code ?? 'network error');
  // These fail before a byte of the request is sent; anything else may have reached Meta.
  const neverSent = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_INVALID_URL', 'EHOSTUNREACH', 'ENETUNREACH'].includes(ax.code ?? '');
  return new GraphApiError({ message: `${what}: ${reason}`, httpStatus: status, mayHaveReachedMeta: !neverSent });
}

export function createGraphClient(opts: GraphClientOptions): GraphClient {
  const http: AxiosInstance = axios.create({
    baseURL: `${opts.baseUrl}/${opts.apiVersion}`,
    timeout: opts.timeoutMs ?? 15_000,
    maxRedirects: 0,
    // Responses are validated by us; non-2xx become GraphApiError.
    validateStatus: (s) => s >= 200 && s < 300,
  });
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const maxBytes = opts.maxMediaBytes ?? 100 * 1024 * 1024;

  return {
    async listTemplates(token, wabaId) {
      const all: GraphTemplate[] = [];
      let after: string | undefined;
      for (let page = 0; page < 100; page++) {
        try {
          const res = await http.get(`/${encodeURIComponent(wabaId)}/message_templates`, {
            headers: auth(token),
            params: { fields: 'name,status,category,language,components,parameter_format', limit: 100, ...(after ? { after } : {}) },
          });
          const parsed = templatePageSchema.safeParse(res.data);
          if (!parsed.success) throw new GraphApiError({ message: 'templates: unexpected response', httpStatus: res.status });
          all.push(...parsed.data.data);
          after = parsed.data.paging?.next ? parsed.data.paging.cursors?.after : undefined;
          if (!after) return all;
        } catch (e) {
          throw toGraphError(e, 'templates');
        }
      }
      return all;
    },

    async sendMessage(token, phoneNumberId, body) {
      try {
        const res = await http.post(`/${encodeURIComponent(phoneNumberId)}/messages`, body, { headers: auth(token) });
        const parsed = sendResponseSchema.safeParse(res.data);
        if (!parsed.success) throw new GraphApiError({ message: 'send: unexpected response', httpStatus: res.status });
        const first = parsed.data.messages[0] as { id: string; message_status?: string };
        return { wamid: first.id, waId: parsed.data.contacts?.[0]?.wa_id, messageStatus: first.message_status };
      } catch (e) {
        throw toGraphError(e, 'send');
      }
    },

    async getMediaInfo(token, mediaId, phoneNumberId) {
      try {
        const res = await http.get(`/${encodeURIComponent(mediaId)}`, {
          headers: auth(token),
          params: phoneNumberId ? { phone_number_id: phoneNumberId } : undefined,
        });
        const info = mediaInfoSchema.safeParse(res.data);
        if (!info.success) throw new GraphApiError({ message: 'media lookup: unexpected response', httpStatus: res.status });
        return info.data;
      } catch (e) {
        throw toGraphError(e, 'media lookup');
      }
    },

    async downloadMedia(token, url) {
      try {
        // The URL is Meta's (lookaside.fbsbx.com) and needs the same bearer token.
        const res = await axios.get<ArrayBuffer>(url, {
          headers: auth(token),
          responseType: 'arraybuffer',
          timeout: opts.timeoutMs ?? 60_000,
          maxContentLength: maxBytes,
          maxRedirects: 0,
          validateStatus: (s) => s >= 200 && s < 300,
        });
        const type = res.headers['content-type'];
        return { data: Buffer.from(res.data), contentType: typeof type === 'string' ? type : undefined };
      } catch (e) {
        throw toGraphError(e, 'media download');
      }
    },

    async markRead(token, phoneNumberId, wamid) {
      try {
        await http.post(
          `/${encodeURIComponent(phoneNumberId)}/messages`,
          { messaging_product: 'whatsapp', status: 'read', message_id: wamid },
          { headers: auth(token) },
        );
      } catch (e) {
        throw toGraphError(e, 'mark as read');
      }
    },
  };
}
