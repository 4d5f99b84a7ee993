import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { metaSerialize, sign, textPayload, uniqueWamid } from '../support/meta';
import { APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';

// Sources are told apart by X-Forwarded-For, believed because TRUST_PROXY=loopback (the test
// client is the "proxy" on 127.0.0.1).
const FAILURES_PER_MINUTE = 20;

describe('ingress: floods of unsigned and forged deliveries', () => {
  let f: IngressFixture;
  let server: http.Server;
  let port: number;
  let directoryLoads: jest.SpyInstance;

  beforeAll(async () => {
    f = await createIngressFixture({ TRUST_PROXY: 'loopback', WEBHOOK_INGRESS_FAILURES_PER_MINUTE: String(FAILURES_PER_MINUTE) });
    directoryLoads = jest.spyOn(f.rt.services.tenancy, 'ingressDirectory');
    server = http.createServer(f.rt.app as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await f.rt.teardown();
  });

  function post(body: string, headers: Record<string, string>): Promise<{ status: number; retryAfter?: string; code?: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/webhooks/whatsapp', agent: false, headers: { 'content-type': 'application/json', ...headers } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            let code: string | undefined;
            try {
              code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
            } catch {
              code = undefined;
            }
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], code });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const signed = (from: string) => {
    const body = metaSerialize(textPayload({ wamid: uniqueWamid(), body: 'hello from a customer' }));
    return post(body, { 'x-forwarded-for': from, 'x-hub-signature-256': sign(body, APP_SECRET) });
  };
  const forged = (from: string, i: number) => {
    const body = metaSerialize(textPayload({ wamid: uniqueWamid(), body: `forged ${i}` }));
    const kinds: Record<string, string>[] = [
      {},
      { 'x-hub-signature-256': 'sha1=deadbeef' },
      { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      { 'x-hub-signature-256': sign(body, 'not-the-app-secret') },
    ];
    return post(body, { 'x-forwarded-for': from, ...(kinds[i % kinds.length] as Record<string, string>) });
  };

  /** Runs `tasks` with at most `width` in flight. */
  async function pool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
    const out: T[] = new Array(tasks.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < tasks.length) {
          const i = next++;
          out[i] = await (tasks[i] as () => Promise<T>)();
        }
      }),
    );
    return out;
  }

  it("Meta's signed deliveries all land while 600 forged ones from two sources are refused, most of them unread", async () => {
    await f.reset();
    directoryLoads.mockClear();
    const meta = '173.252.88.1';
    const tasks: (() => Promise<{ who: 'meta' | 'forger'; status: number; code?: string }>)[] = [];
    for (let i = 0; i < 640; i++) {
      if (i % 16 === 0) tasks.push(async () => ({ who: 'meta', ...(await signed(meta)) }));
      else tasks.push(async () => ({ who: 'forger', ...(await forged(i % 2 ? '203.0.113.7' : '198.51.100.23', i)) }));
    }
    const results = await pool(tasks, 32);

    const metaResults = results.filter((r) => r.who === 'meta');
    expect(metaResults).toHaveLength(40);
    expect(metaResults.every((r) => r.status === 200)).toBe(true);
    const stored = await f.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'in'");
    expect(stored[0]?.n).toBe(40);

    const forgedResults = results.filter((r) => r.who === 'forger');
    const byStatus = new Map<number, number>();
    for (const r of forgedResults) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    // Nothing but 401 (bad signature) and 429 (source over its allowance): never stored.
    expect([...byStatus.keys()].sort()).toEqual([401, 429]);
    // Two sources, 20 failures a minute each (plus the few in flight when the limit was hit).
    expect(byStatus.get(401)).toBeLessThanOrEqual(2 * FAILURES_PER_MINUTE + 2 * 32);
    expect(byStatus.get(429)).toBeGreaterThanOrEqual(600 - 2 * FAILURES_PER_MINUTE - 2 * 32);
    // Verifying 640 deliveries read the numbers from the database a handful of times, not 640.
    expect(directoryLoads.mock.calls.length).toBeLessThanOrEqual(5);
  });

  it('a refused source gets its answer before it sends its body; so does a request with no signature or a declared body over 3 MB', async () => {
    const source = '192.0.2.55';
    for (let i = 0; i < FAILURES_PER_MINUTE + 5; i++) await forged(source, 2);
    await new Promise((r) => setTimeout(r, 100));

    // Headers only: the body (1 MB declared) is never sent. An answer proves it was not awaited.
    const headersOnly = (headers: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no answer without the body; got ${JSON.stringify(text)}`));
        }, 3_000);
        socket.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('\r\n\r\n')) {
            clearTimeout(timer);
            socket.destroy();
            resolve(text.split('\r\n')[0] as string);
          }
        });
        socket.on('error', reject);
        socket.write(`POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n`);
      });

    expect(await headersOnly(`X-Forwarded-For: ${source}\r\nX-Hub-Signature-256: sha256=${'a'.repeat(64)}\r\nContent-Length: 1048576\r\n`)).toMatch(/ 429 /);
    expect(await headersOnly('X-Forwarded-For: 192.0.2.99\r\nContent-Length: 1048576\r\n')).toMatch(/ 401 /);
    expect(await headersOnly(`X-Forwarded-For: 192.0.2.99\r\nX-Hub-Signature-256: sha256=${'a'.repeat(64)}\r\nContent-Length: 4194304\r\n`)).toMatch(/ 413 /);

    const refused = await forged(source, 2);
    expect(refused.status).toBe(429);
    expect(refused.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('a source that delivered a correctly signed webhook is never refused, whatever else it sends', async () => {
    await f.reset();
    const shared = '10.20.30.40'; // e.g. a proxy that Meta and a forger both come through
    expect((await signed(shared)).status).toBe(200);
    const statuses = await pool(
      Array.from({ length: 3 * FAILURES_PER_MINUTE }, (_, i) => () => forged(shared, i)),
      8,
    );
    expect(statuses.every((r) => r.status === 401)).toBe(true);
    expect((await signed(shared)).status).toBe(200);
    const stored = await f.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'in'");
    expect(stored[0]?.n).toBe(2);
  });

  it('a number added a moment ago is recognised at once, though the directory is cached', async () => {
    await f.reset();
    const ws = await f.rt.services.tenancy.createWorkspace({ name: 'Late' });
    await f.rt.services.tenancy.addNumber({
      workspaceId: ws.id,
      phoneNumberId: '555000000000123',
      wabaId: '555000000000999',
      accessToken: 'EAAG-late',
      appSecret: 'late-app-secret',
      verifyToken: 'late-verify',
      source: 'cli',
    });
    await new Promise((r) => setTimeout(r, 1_050)); // past the 1 s floor between reloads on a miss
    const body = metaSerialize(textPayload({ wamid: uniqueWamid(), phoneNumberId: '555000000000123', wabaId: '555000000000999' }));
    const res = await post(body, { 'x-forwarded-for': '173.252.88.2', 'x-hub-signature-256': sign(body, 'late-app-secret') });
    expect(res.status).toBe(200);
    const stored = await f.rows<{ n: number }>("select count(*)::int as n from messages where direction = 'in'");
    expect(stored[0]?.n).toBe(1);
  });
});
