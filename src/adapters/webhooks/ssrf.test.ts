import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { addressProblem, checkWebhookUrl, parseWebhookUrl, pinnedLookup, UrlRefusedError, type Resolver, type UrlPolicy } from './ssrf';

const strict: UrlPolicy = { allowInsecure: false, allowPrivate: false };
const insecure: UrlPolicy = { allowInsecure: true, allowPrivate: false };
const dev: UrlPolicy = { allowInsecure: true, allowPrivate: true };

/** A resolver from a table: no network in unit tests. */
const table: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'v6.example.com': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'localhost': ['127.0.0.1', '::1'],
  'localtest.me': ['127.0.0.1'],
  'internal.example.com': ['10.1.2.3'],
  'mixed.example.com': ['93.184.215.14', '192.168.1.10'],
  'metadata.example.com': ['169.254.169.254'],
};
const resolver: Resolver = async (host) => {
  const addrs = table[host];
  if (!addrs) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const refusal = async (url: string, policy = strict) =>
  checkWebhookUrl(url, policy, resolver).then(
    () => null,
    (e: Error) => (e instanceof UrlRefusedError ? e.message : `unexpected ${e.message}`),
  );

describe('SSRF guard', () => {
  it.each([
    ['https://127.0.0.1/hook', /not public \(loopback\)/],
    ['https://127.1/hook', /four decimal numbers/],
    ['https://0x7f000001/hook', /four decimal numbers/],
    ['https://0x7f.0.0.1/hook', /four decimal numbers/],
    ['https://2130706433/hook', /four decimal numbers/],
    ['https://017700000001/hook', /four decimal numbers/],
    ['https://0177.0.0.1/hook', /four decimal numbers/],
    ['https://127.000.000.001/hook', /four decimal numbers/],
    ['https://[::1]/hook', /not public \(loopback\)/],
    ['https://[::ffff:127.0.0.1]/hook', /not public \(ipv4Mapped\)/],
    ['https://[::ffff:10.0.0.1]/hook', /not public \(ipv4Mapped\)/],
    ['https://[::ffff:7f00:1]/hook', /not public \(ipv4Mapped\)/],
    ['https://[2002:7f00:1::]/hook', /not public \(6to4\)/],
    ['https://[2002:a00:1::]/hook', /not public \(6to4\)/],
    ['https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook', /not public \(teredo\)/],
    ['https://[64:ff9b::a00:1]/hook', /not public \(rfc6052\)/],
    ['https://10.0.0.1/hook', /not public \(private\)/],
    ['https://172.16.5.4/hook', /not public \(private\)/],
    ['https://192.168.0.1/hook', /not public \(private\)/],
    ['https://169.254.169.254/latest/meta-data', /not public \(linkLocal\)/],
    ['https://100.64.0.1/hook', /not public \(carrierGradeNat\)/],
    ['https://198.18.0.1/hook', /not public \(reserved\)/],
    ['https://240.0.0.1/hook', /not public \(reserved\)/],
    ['https://0.0.0.0/hook', /unspecified/],
    ['https://[::]/hook', /unspecified/],
    ['https://224.0.0.1/hook', /multicast/],
    ['https://255.255.255.255/hook', /broadcast/],
    ['https://[fc00::1]/hook', /not public \(uniqueLocal\)/],
    ['https://[fd12:3456::1]/hook', /not public \(uniqueLocal\)/],
    ['https://[fe80::1]/hook', /not public \(linkLocal\)/],
    ['https://[ff02::1]/hook', /multicast/],
    ['https://localhost/hook', /refused address.*loopback/],
    ['https://localtest.me/hook', /refused address.*loopback/],
    ['https://internal.example.com/hook', /refused address.*private/],
    ['https://mixed.example.com/hook', /refused address.*private/],
    ['https://metadata.example.com/hook', /refused address.*linkLocal/],
    ['https://nowhere.invalid/hook', /does not resolve/],
    ['http://hooks.example.com/hook', /must use https/],
    ['ftp://hooks.example.com/hook', /must use https/],
    ['https://user:pass@hooks.example.com/hook', /credentials/],
    ['not a url', /absolute URL/],
  ])('refuses %s', async (url, reason) => {
    expect(await refusal(url)).toMatch(reason);
  });

  it.each([
    ['https://hooks.example.com/hook', strict],
    ['https://hooks.example.com:8443/a?b=c', strict],
    ['https://v6.example.com/hook', strict],
    ['https://93.184.215.14/hook', strict],
    ['https://[2606:4700::1111]/hook', strict],
    ['http://hooks.example.com/hook', insecure],
    ['http://127.0.0.1:8080/hook', dev],
    ['http://localhost:8080/hook', dev],
    ['https://10.0.0.1/hook', dev],
  ])('accepts %s', async (url, policy) => {
    expect(await refusal(url, policy)).toBeNull();
  });

  it('still refuses numeric spellings, unspecified and multicast targets when private targets are allowed', async () => {
    expect(await refusal('http://2130706433/', dev)).toMatch(/four decimal numbers/);
    expect(await refusal('http://0.0.0.0/', dev)).toMatch(/unspecified/);
    expect(addressProblem('224.0.0.1', dev)).toMatch(/multicast/);
    expect(() => parseWebhookUrl('http://hooks.example.com/', strict)).toThrow(UrlRefusedError);
  });

  it('pins the checked address: a name that rebinds to a private address is refused at connect time, and no connection is made', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    // Public at registration, loopback afterwards: the classic rebinding.
    let calls = 0;
    const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '93.184.215.14' : '127.0.0.1', family: 4 }];
    await expect(checkWebhookUrl(`https://rebind.example.com:${port}/`, strict, rebinding)).resolves.toBeInstanceOf(URL);
    const err = await new Promise<Error>((resolve) => {
      const req = http.request({ host: 'rebind.example.com', port, lookup: pinnedLookup(insecure, rebinding) as never, agent: false }, () => resolve(new Error('connected')));
      req.on('error', resolve);
      req.end();
    });
    expect(err.message).toMatch(/refused address.*loopback/);
    // The same lookup with private targets allowed connects to the checked address.
    const ok = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: 'anything.test', port, lookup: pinnedLookup(dev, async () => [{ address: '127.0.0.1', family: 4 }]) as never, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(ok).toBe(200);
    await new Promise<void>((r) => server.close(() => r()));
    expect(connections).toBe(1);
  });
});
