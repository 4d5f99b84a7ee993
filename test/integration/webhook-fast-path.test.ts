import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { metaSerialize, sign, textPayload, uniqueWamid } from '../support/meta';
import { APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';

// POST /webhooks/whatsapp is served on node's request and response, before express; express
// serves the rest, compressed deliveries among them. Both must answer alike. Express's res.json
// adds an ETag and the fast path does not: that is how these tests know which one answered.

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

describe('POST /webhooks/whatsapp before express', () => {
  let f: IngressFixture;
  let server: http.Server;
  let port: number;
  // Keep-alive, so that a Connection: close in an answer is the server's choice.
  const agent = new http.Agent({ keepAlive: true });

  beforeAll(async () => {
    f = await createIngressFixture();
    server = http.createServer(f.rt.app as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await f.rt.teardown();
  });
  beforeEach(async () => {
    await f.reset();
  });

  function post(body: Buffer | Buffer[], headers: Record<string, string>, path = '/webhooks/whatsapp'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        });
      });
      // A server that answers before the whole body is sent may close the connection under us.
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
      if (Array.isArray(body)) {
        for (const chunk of body) req.write(chunk);
        req.end();
      } else {
        req.end(body);
      }
    });
  }

  const delivery = (text = 'Is the shop open today?') => Buffer.from(metaSerialize(textPayload({ wamid: uniqueWamid(), body: text })));
  const gzip = (headers: Record<string, string>) => ({ ...headers, 'content-encoding': 'gzip' });
  const withoutRequestId = (body: Record<string, unknown>) => {
    const { request_id: _id, ...error } = body.error as Record<string, unknown>;
    return { error };
  };
  const count = async () => (await f.rows<{ n: number }>('select count(*)::int as n from messages'))[0]?.n;

  it('stores a delivery and answers as express would, echoing the caller\'s request id or making one', async () => {
    const plain = delivery();
    const fast = await post(plain, { 'x-hub-signature-256': sign(plain, APP_SECRET), 'x-request-id': 'meta-delivery-1' });
    expect(fast.status).toBe(200);
    expect(fast.headers.etag).toBeUndefined();
    expect(fast.headers['x-request-id']).toBe('meta-delivery-1');
    expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(fast.body).toEqual({ received: true, outcome: 'stored', stored: 1, duplicates: 0, statuses: 0 });

    // The same delivery again, gzip-compressed: express inflates it, finds it stored.
    const slow = await post(zlib.gzipSync(plain), gzip({ 'x-hub-signature-256': sign(plain, APP_SECRET) }));
    expect(slow.status).toBe(200);
    expect(slow.headers.etag).toBeDefined();
    expect(slow.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
    expect(slow.headers['content-type']).toBe(fast.headers['content-type']);
    expect(slow.body).toEqual({ received: true, outcome: 'stored', stored: 0, duplicates: 1, statuses: 0 });

    // A query string changes nothing; another spelling of the path is express's to serve.
    const other = delivery();
    const query = await post(other, { 'x-hub-signature-256': sign(other, APP_SECRET) }, '/webhooks/whatsapp?source=meta');
    expect(query.headers.etag).toBeUndefined();
    expect(query.body).toMatchObject({ stored: 1 });
    const third = delivery();
    const slash = await post(third, { 'x-hub-signature-256': sign(third, APP_SECRET) }, '/webhooks/whatsapp/');
    expect(slash.headers.etag).toBeDefined();
    expect(slash.body).toMatchObject({ stored: 1 });
    expect(await count()).toBe(3);

    // The access log has its line, by route pattern and request id.
    const line = f.rt.logs.lines().find((l) => l.msg === 'request' && l.request_id === 'meta-delivery-1');
    expect(line).toMatchObject({ method: 'POST', route: '/webhooks/whatsapp', status: 200, correlation_id: 'meta-delivery-1' });
  });

  // Refused unread (by the ingress guard): the connection closes. Refused after reading: it stays.
  it.each([
    ['no signature', (_body: Buffer) => ({}), 401, 'invalid_signature', 'close'],
    ['a signature made with another secret', (body: Buffer) => ({ 'x-hub-signature-256': sign(body, 'not-the-app-secret') }), 401, 'invalid_signature', 'keep-alive'],
    ['a declared body over 3 MB', (body: Buffer) => ({ 'x-hub-signature-256': sign(body, APP_SECRET), 'content-length': String(4 * 1024 * 1024) }), 413, 'payload_too_large', 'close'],
  ])('%s: the same error envelope as express, nothing stored', async (_name, headersOf, status, code, connection) => {
    const body = delivery();
    // A declared length that is not sent: only the headers go out, the answer comes unread.
    const payload = code === 'payload_too_large' ? Buffer.alloc(0) : body;
    const fast = await post(payload, headersOf(body));
    const slow = await post(code === 'payload_too_large' ? payload : zlib.gzipSync(body), gzip(headersOf(body)));
    expect(fast.headers.etag).toBeUndefined();
    expect(slow.headers.etag).toBeDefined();
    for (const answer of [fast, slow]) {
      expect(answer.status).toBe(status);
      expect(answer.headers.connection).toBe(connection);
      expect((answer.body.error as { code: string }).code).toBe(code);
      expect((answer.body.error as { request_id: string }).request_id).toBe(answer.headers['x-request-id']);
    }
    expect(withoutRequestId(fast.body)).toEqual(withoutRequestId(slow.body));
    expect(await count()).toBe(0);
  });

  it('malformed JSON, signed: 400 invalid_webhook either way', async () => {
    const body = Buffer.from('{"object":"whatsapp_business_account","entry":[');
    const fast = await post(body, { 'x-hub-signature-256': sign(body, APP_SECRET) });
    const slow = await post(zlib.gzipSync(body), gzip({ 'x-hub-signature-256': sign(body, APP_SECRET) }));
    expect([fast.status, slow.status]).toEqual([400, 400]);
    expect(withoutRequestId(fast.body)).toEqual(withoutRequestId(slow.body));
    expect((fast.body.error as { code: string }).code).toBe('invalid_webhook');
  });

  it('a chunked body (no Content-Length) that grows past 3 MB: 413, nothing stored, the server serves on', async () => {
    const body = delivery();
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const answer = await post([body, ...Array.from({ length: 64 }, () => chunk)], { 'x-hub-signature-256': sign(body, APP_SECRET), 'transfer-encoding': 'chunked' });
    expect(answer.status).toBe(413);
    expect((answer.body.error as { code: string }).code).toBe('payload_too_large');
    expect(answer.headers.connection).toBe('close');
    expect(await count()).toBe(0);

    const next = delivery();
    expect((await post(next, { 'x-hub-signature-256': sign(next, APP_SECRET) })).status).toBe(200);
  });

  it('a sender that goes away mid-body gets no answer, leaves nothing stored, and the server serves on', async () => {
    const body = delivery();
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.write(
          `POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Hub-Signature-256: ${sign(body, APP_SECRET)}\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        socket.write(body.subarray(0, 40), () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(await count()).toBe(0);
    const next = delivery();
    expect((await post(next, { 'x-hub-signature-256': sign(next, APP_SECRET) })).status).toBe(200);
    expect(await count()).toBe(1);
  });
});
