import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The SSRF guard for webhook targets (OWASP API7). A URL must be https (http only with
 * ALLOW_INSECURE_WEBHOOKS), carry no credentials, write an IPv4 literal only as four decimal
 * numbers, and every address its host resolves to must be public. The check runs at
 * registration and again at every delivery, inside the connection's own DNS lookup, so the
 * address that was checked is the address connected to (DNS rebinding cannot switch it).
 */
export interface UrlPolicy {
  allowInsecure: boolean;
  /** Local development and tests: private, loopback, link-local and CGNAT targets allowed. */
  allowPrivate: boolean;
}

export class UrlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlRefusedError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address (the system resolver, like a connection would). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

// Never a target, even with allowPrivate: they are not one host.
const NEVER = new Set(['unspecified', 'multicast', 'broadcast']);

/** null when the address may be connected to under the policy; otherwise why not. */
export function addressProblem(ip: string, policy: Pick<UrlPolicy, 'allowPrivate'>): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return `"${ip}" is not an IP address`;
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  if (NEVER.has(range)) return `the address ${parsed.toString()} is ${range}`;
  if (policy.allowPrivate) return null;
  // Everything not global unicast, including IPv4-mapped, 6to4, Teredo and NAT64 addresses,
  // which embed an IPv4 address that could be anything.
  return `the address ${parsed.toString()} is not public (${range})`;
}

const DOTTED_DECIMAL = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The host exactly as written: URL() would turn 0x7f000001, 2130706433 and 0177.0.0.1 into
 * 127.0.0.1, and such spellings are refused whatever they decode to.
 */
function rawHost(raw: string): string {
  const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#\\]*)/.exec(raw.trim())?.[1] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d*$/, '').toLowerCase();
}

/** Syntax and scheme only (no DNS): the URL object, or UrlRefusedError saying what is wrong. */
export function parseWebhookUrl(raw: string, policy: UrlPolicy): URL {
  if (raw.length > 2048) throw new UrlRefusedError('must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefusedError('must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowInsecure)) {
    throw new UrlRefusedError(policy.allowInsecure ? 'must use https or http' : 'must use https (http needs ALLOW_INSECURE_WEBHOOKS=true)');
  }
  if (url.username || url.password) throw new UrlRefusedError('must not contain credentials');
  const host = rawHost(raw);
  // WHATWG: a host whose last label is numeric is an IPv4 address, in any of its spellings.
  const last = host.replace(/\.$/, '').split('.').pop() ?? '';
  if (!host.startsWith('[') && /^(\d+|0x[0-9a-f]*)$/.test(last) && !DOTTED_DECIMAL.test(host)) {
    throw new UrlRefusedError('must write an IPv4 address as four decimal numbers (no decimal, octal or hex forms)');
  }
  if (url.hostname === '') throw new UrlRefusedError('must name a host');
  return url;
}

function literalOf(url: URL): string | null {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return net.isIP(h) ? h : null;
}

function checkAll(addresses: ResolvedAddress[], policy: UrlPolicy): ResolvedAddress {
  if (addresses.length === 0) throw new UrlRefusedError('host does not resolve');
  // Every address must pass: a name that also resolves to an internal address is refused.
  for (const a of addresses) {
    const problem = addressProblem(a.address, policy);
    if (problem) throw new UrlRefusedError(`resolves to a refused address: ${problem}`);
  }
  return addresses[0] as ResolvedAddress;
}

/** The full check (syntax, scheme, DNS): the URL and the checked addresses. */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy, resolve: Resolver = systemResolver): Promise<URL> {
  const url = parseWebhookUrl(raw, policy);
  const literal = literalOf(url);
  if (literal) {
    const problem = addressProblem(literal, policy);
    if (problem) throw new UrlRefusedError(problem);
    return url;
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(url.hostname);
  } catch {
    throw new UrlRefusedError('host does not resolve');
  }
  checkAll(addresses, policy);
  return url;
}

/** A literal host's check (node skips `lookup` for IP literals, so it is done before connecting). */
export function checkLiteralHost(url: URL, policy: UrlPolicy): void {
  const literal = literalOf(url);
  if (!literal) return;
  const problem = addressProblem(literal, policy);
  if (problem) throw new UrlRefusedError(problem);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request / net.connect: resolves, refuses unless every address passes,
 * and hands the connection the checked address only.
 */
export function pinnedLookup(policy: UrlPolicy, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    resolve(hostname)
      .then((addresses) => {
        const chosen = checkAll(addresses, policy);
        if (typeof options === 'object' && options?.all) callback(null, [chosen]);
        else callback(null, chosen.address, chosen.family);
      })
      .catch((e: Error) => {
        const err: NodeJS.ErrnoException = e instanceof UrlRefusedError ? e : new UrlRefusedError('host does not resolve');
        err.code = 'EWEBHOOKREFUSED';
        callback(err, '');
      });
  };
}
