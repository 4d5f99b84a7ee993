import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { metaMessageValidator } from './meta-spec';

/**
 * A local emulation of the parts of Meta's Graph API the gateway calls, at the HTTP level:
 * media lookup and download, and POST /{phone-number-id}/messages. It records every call and can
 * be told to answer with Meta's errors.
 */
export interface GraphCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
  at: number;
}

export interface GraphEmulator {
  url: string;
  calls: GraphCall[];
  addMedia(id: string, data: Buffer, mimeType: string, opts?: { expiredUrls?: number; sha256?: string }): void;
  /** The next matching request gets this error (Meta's error shape). */
  failNext(match: RegExp, status: number, error: { code: number; message?: string; details?: string }): void;
  /** The next matching request is processed, but its answer comes `ms` late. */
  slowNext(match: RegExp, ms: number): void;
  /** The wamid the next accepted send gets (otherwise a made-up one). */
  setNextWamid(wamid: string): void;
  /** The template catalog of a WABA, served in pages of `pageSize`. */
  setTemplates(wabaId: string, templates: Record<string, unknown>[], pageSize?: number): void;
  close(): Promise<void>;
}

export async function startGraphEmulator(token: string): Promise<GraphEmulator> {
  const calls: GraphCall[] = [];
  const media = new Map<string, { data: Buffer; mimeType: string; expiredUrls: number; sha256?: string }>();
  const failures: { match: RegExp; status: number; error: { code: number; message?: string; details?: string } }[] = [];
  let nextWamid: string | undefined;
  const slow: { match: RegExp; ms: number }[] = [];
  const catalogs = new Map<string, { templates: Record<string, unknown>[]; pageSize: number }>();
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  const validate = metaMessageValidator();
  let base = '';

  const metaError = (res: express.Response, status: number, code: number, message: string, details?: string) =>
    res.status(status).json({ error: { message, type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details: details ?? message }, fbtrace_id: 'Aemu' } });

  app.use((req, res, next) => {
    const s = slow.findIndex((x) => x.match.test(`${req.method} ${req.path}`));
    if (s >= 0) {
      const ms = slow.splice(s, 1)[0]?.ms ?? 0;
      const json = res.json.bind(res);
      res.json = ((body: unknown) => {
        setTimeout(() => json(body), ms);
        return res;
      }) as typeof res.json;
    }
    calls.push({ method: req.method, path: req.path, authorization: req.get('authorization'), body: req.body, at: Date.now() });
    const i = failures.findIndex((f) => f.match.test(`${req.method} ${req.path}`));
    if (i >= 0) {
      const [f] = failures.splice(i, 1);
      if (f) {
        metaError(res, f.status, f.error.code, f.error.message ?? 'error', f.error.details);
        return;
      }
    }
    if (req.get('authorization') !== `Bearer ${token}`) {
      metaError(res, 401, 190, 'Invalid OAuth access token - Cannot parse access token');
      return;
    }
    next();
  });

  app.get('/download/:id', (req, res) => {
    const m = media.get(req.params.id);
    if (!m) return void res.status(404).end();
    if (m.expiredUrls > 0) {
      m.expiredUrls--;
      return void res.status(404).end();
    }
    res.type(m.mimeType).send(m.data);
  });
  app.get('/:version/:wabaId/message_templates', (req, res) => {
    const c = catalogs.get(req.params.wabaId);
    if (!c) return void metaError(res, 400, 100, 'Unsupported get request.');
    const start = Number(req.query.after ?? 0);
    const data = c.templates.slice(start, start + c.pageSize);
    const more = start + c.pageSize < c.templates.length;
    res.json({ data, paging: { cursors: { before: String(start), after: String(start + c.pageSize) }, ...(more ? { next: `${base}/next` } : {}) } });
  });
  app.get('/:version/:mediaId', (req, res) => {
    const m = media.get(req.params.mediaId);
    if (!m) return void metaError(res, 400, 100, 'Unsupported get request. Object does not exist');
    res.json({
      messaging_product: 'whatsapp',
      url: `${base}/download/${req.params.mediaId}`,
      mime_type: m.mimeType,
      sha256: m.sha256 ?? createHash('sha256').update(m.data).digest('hex'),
      file_size: String(m.data.length),
      id: req.params.mediaId,
    });
  });
  app.post('/:version/:phoneNumberId/messages', (req, res) => {
    const body = req.body as { status?: string; to?: string };
    if (body.status === 'read') return void res.json({ success: true });
    // Like Meta: a body that does not fit the Message schema is refused with code 100.
    const problems = validate(body);
    if (problems.length) return void metaError(res, 400, 100, '(#100) Invalid parameter', problems.join('; '));
    res.json({
      messaging_product: 'whatsapp',
      contacts: [{ input: body.to, wa_id: String(body.to ?? '').replace(/^\+/, '') }],
      messages: [{ id: nextWamid ?? `wamid.EMU${calls.length.toString().padStart(8, '0')}` }],
    });
    nextWamid = undefined;
  });

  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    calls,
    addMedia(id, data, mimeType, opts = {}) {
      media.set(id, { data, mimeType, expiredUrls: opts.expiredUrls ?? 0, sha256: opts.sha256 });
    },
    failNext(match, status, error) {
      failures.push({ match, status, error });
    },
    slowNext(match, ms) {
      slow.push({ match, ms });
    },
    setNextWamid(wamid) {
      nextWamid = wamid;
    },
    setTemplates(wabaId, templates, pageSize = 2) {
      catalogs.set(wabaId, { templates, pageSize });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
