import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { SCOPES } from '../../src/domain/keys/scopes';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload } from '../support/meta';
import { startOpenAiEmulator, type ChatRequestView, type OpenAiEmulator } from '../support/openai-emulator';
import { freePort } from '../support/net';
import { ROOT, childEnv } from '../support/processes';
import { createTestRuntime, deleteRedisPrefix, REDIS_URL, type TestRuntime } from '../support/runtime';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * GET /metrics after real traffic: a signed inbound message answered by the agent (OpenAI
 * emulator) through the send pipeline (Graph emulator), API calls, 404s, a Graph error and a
 * webhook delivery. The exposition is parsed with a strict grammar, then each named series is
 * checked to have moved by exactly what the traffic did.
 */

// ---- A strict parser of Prometheus's text format 0.0.4 -------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help: string | undefined;
  samples: Sample[];
}
type Exposition = Map<string, Family>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Go's strconv.ParseFloat, which Prometheus uses: the special words in any case (prom-client writes "Nan").
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)|nan)$/i;

function parseValue(s: string, where: string): number {
  if (!FLOAT.test(s)) throw new Error(`${where}: bad value "${s}"`);
  if (/^nan$/i.test(s)) return NaN;
  if (/^[+-]?inf/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  return Number(s);
}

/** `{a="x",b="y\"z"}` starting at `i`; returns the labels and the index after the brace. */
function parseLabels(line: string, i: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without =`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${where}: duplicate label ${name}`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[++j];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${n ?? ''}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected , or } after a label`);
  }
}

/** The family a sample belongs to: histogram and summary samples carry suffixes. */
function familyOf(families: Exposition, name: string): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families: Exposition = new Map();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, n) => {
      const where = `line ${n + 1}`;
      if (line === '') return;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
        if (!m) return; // a plain comment
        const [, kind, name, rest] = m as unknown as [string, string, string, string];
        if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
        if (kind === 'HELP') {
          if (helps.has(name)) throw new Error(`${where}: second HELP for ${name}`);
          if (/\\(?![\\n])/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
          helps.set(name, rest);
        } else {
          if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`${where}: bad type ${rest}`);
          if (families.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
          families.set(name, { type: rest, help: helps.get(name), samples: [] });
        }
        return;
      }
      const nameEnd = line.search(/[{ ]/);
      if (nameEnd <= 0) throw new Error(`${where}: no metric name`);
      const name = line.slice(0, nameEnd);
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      let labels: Record<string, string> = {};
      let i = nameEnd;
      if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
      if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
      const parts = line.slice(i + 1).split(' ');
      if (parts.length < 1 || parts.length > 2) throw new Error(`${where}: expected value [timestamp]`);
      const value = parseValue(parts[0] as string, where);
      if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
      const family = familyOf(families, name);
      if (!family) throw new Error(`${where}: sample ${name} before (or without) its # TYPE`);
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error(`${where}: duplicate series ${key}`);
      seen.add(key);
      family.samples.push({ name, labels, value });
    });
  // Histograms: cumulative buckets ending with le="+Inf", which equals _count.
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${name}_bucket without le`);
      const k = JSON.stringify(Object.entries(rest).sort());
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    for (const [k, buckets] of series) {
      const sorted = [...buckets].sort((a, b) => parseValue(a.labels.le as string, name) - parseValue(b.labels.le as string, name));
      sorted.forEach((b, idx) => {
        if (idx > 0 && b.value < (sorted[idx - 1] as Sample).value) throw new Error(`${name}${k}: buckets not cumulative`);
      });
      const inf = sorted.at(-1);
      if (inf?.labels.le !== '+Inf') throw new Error(`${name}${k}: no +Inf bucket`);
      const count = f.samples.find((s) => s.name === `${name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === k);
      if (count?.value !== inf.value) throw new Error(`${name}${k}: +Inf bucket differs from _count`);
    }
  }
  return families;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
function sum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const f = familyOf(e, name);
  return (f?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
function has(e: Exposition, name: string, labels: Record<string, string> = {}): boolean {
  return (familyOf(e, name)?.samples ?? []).some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe('the Prometheus text parser used below', () => {
  it('accepts a well-formed exposition and rejects broken ones', () => {
    const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\"z"} 3\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1.5\nh_count 2\n';
    const e = parseExposition(ok);
    expect(sum(e, 'a_total', { y: 'q"z' })).toBe(3);
    expect(sum(e, 'h_count')).toBe(2);
    for (const bad of [
      'a_total 3\n', // no TYPE
      '# TYPE a counter\na{x="1" 3\n', // unterminated labels
      '# TYPE a counter\na{x=1} 3\n', // unquoted value
      '# TYPE a counter\na 3 x\n', // bad timestamp
      '# TYPE a counter\na three\n', // bad value
      '# TYPE a counter\na 1\na 2\n', // duplicate series
      '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_count 2\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_count 3\n', // +Inf != count
      '# TYPE a counter\na 1', // no final newline
    ]) {
      expect(() => parseExposition(bad)).toThrow();
    }
  });
});

// ---- The gateway's /metrics ----------------------------------------------------------------

const METRICS_TOKEN = `mt_${randomBytes(16).toString('hex')}`;
const OPENAI_KEY = `sk-metrics-${randomBytes(8).toString('hex')}`;

/** A model that answers from the first passage of the prompt. */
function groundedAnswer(req: ChatRequestView) {
  const m = /\[(chk_[0-9a-z]+)\] \(([^)]*)\)\n([^\n]*)/.exec(req.system);
  if (!m) return { json: { reply: '', confidence: 0, source_chunk_ids: [], handoff: { requested: true, reason: 'nothing found' } } };
  return { json: { reply: `From our notes: ${m[3]}`, confidence: 0.9, source_chunk_ids: [m[1]], handoff: { requested: false, reason: null } } };
}

describe('GET /metrics after real traffic', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let openai: OpenAiEmulator;
  let rx: WebhookReceiver;
  let key: string;
  let endpointSecret: string;
  const app = () => f.rt.app as Express;
  const auth = () => ({ Authorization: `Bearer ${key}` });
  const scrapeText = async () => (await request(app()).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200)).text;
  const scrape = async () => parseExposition(await scrapeText());

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    openai = await startOpenAiEmulator();
    openai.onChat(groundedAnswer);
    rx = await startWebhookReceiver();
    f = await createIngressFixture(
      {
        WHATSAPP_GRAPH_URL: graph.url,
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: openai.url,
        LLM_MODEL: 'gpt-4o-mini',
        AGENT_DEBOUNCE_MS: '0',
        ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
        ALLOW_INSECURE_WEBHOOKS: 'true',
        EVENT_DISPATCH_INTERVAL_MS: '20',
        METRICS_TOKEN,
      },
      { workers: true },
    );
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'metrics', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    const doc = await request(app())
      .post('/v1/knowledge')
      .set(auth())
      .send({ title: 'Opening hours', content: 'We are open Monday to Friday from 7am to 6pm and weekends from 8am to 4pm.' })
      .expect(202);
    await waitFor('the document indexed', async () => (await f.rt.services.knowledge.get(f.workspaceId, doc.body.id)).status === 'ready');
    const ep = await request(app()).post('/v1/webhooks').set(auth()).send({ url: rx.url('/hook'), events: ['message.received'] }).expect(201);
    endpointSecret = ep.body.secret;
  });

  afterAll(async () => {
    await f.rt.teardown();
    await Promise.all([graph.close(), openai.close(), rx.close()]);
  });

  it('refuses a scrape without the METRICS_TOKEN bearer (401 envelope), and with a wrong one', async () => {
    const none = await request(app()).get('/metrics').expect(401);
    expect(none.body).toEqual({
      error: { type: 'authentication_error', code: 'invalid_metrics_token', message: expect.any(String), request_id: expect.any(String) },
    });
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    await request(app()).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}x`).expect(401);
    await request(app()).get('/metrics').set('Authorization', `Bearer ${key}`).expect(401);
    const ok = await request(app()).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
  });

  it('counts HTTP routes by template, Graph calls by error code, jobs, model calls and tokens, and webhook deliveries', async () => {
    // The setup's indexing job has finished (its completion is counted a moment after the document is ready).
    await waitFor('the setup jobs counted', async () => sum(await scrape(), 'gateway_jobs_processed_total', { queue: 'knowledge' }) >= 1);
    const before = await scrape();
    const sendQueue = `send-${f.numberId}`;
    const waId = '16505557777';

    // 1. A customer writes; the agent answers through the send pipeline; the webhook endpoint hears of it.
    await postSigned(app(), textPayload({ from: waId, body: 'When are you open on Saturday?' }), APP_SECRET).expect(200);
    const replies = () =>
      graph.calls.filter((c) => c.method === 'POST' && ((c.body as { to?: string }).to ?? '').replace(/^\+/, '') === waId && (c.body as { type?: string }).type === 'text');
    await waitFor('the reply at Meta', () => replies().length === 1);
    await waitFor('the reply marked sent', async () => (await f.rows("select 1 from messages where direction = 'out' and status = 'sent'")).length === 1);
    await waitFor('the webhook delivery', () => rx.to('/hook').length === 1);

    // 2. An API send that Meta refuses (131026, permanent), followed with GET /v1/messages/:id.
    graph.failNext(/\/messages$/, 400, { code: 131026, message: 'Message undeliverable' });
    const sent = await request(app()).post('/v1/messages').set(auth()).send({ to: `+${waId}`, type: 'text', text: { body: 'Your order is ready' } }).expect(202);
    let gets = 0;
    await waitFor('the API message failed', async () => {
      gets++;
      return (await request(app()).get(`/v1/messages/${sent.body.id}`).set(auth()).expect(200)).body.status === 'failed';
    });

    // 3. Two 404s: an unknown message on a real route, and no route at all.
    await request(app()).get('/v1/messages/msg_01nosuchmessage00000000000').set(auth()).expect(404);
    await request(app()).get('/v1/no/such/route/16505557777').set(auth()).expect(404);

    // Counters move a moment after the work they count (the job's completion event).
    const delta = (after: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string>) => sum(after, name, labels) - sum(before, name, labels);
    const after = await waitFor('the counters to settle', async () => {
      const e = await scrape();
      return delta(e, 'gateway_jobs_processed_total', { queue: sendQueue }) >= 2 && delta(e, 'gateway_webhook_delivery_attempts_total', { outcome: 'succeeded' }) >= 1 && e;
    });
    const text = await scrapeText();

    const http = (method: string, route: string, status_class: string) => delta(after, 'http_request_duration_seconds_count', { method, route, status_class });
    expect(http('POST', '/webhooks/whatsapp', '2xx')).toBe(1);
    expect(http('POST', '/v1/messages', '2xx')).toBe(1);
    expect(http('GET', '/v1/messages/:id', '2xx')).toBe(gets);
    expect(http('GET', '/v1/messages/:id', '4xx')).toBe(1);
    expect(http('GET', 'unmatched', '4xx')).toBe(1);
    // Route labels are templates: no ids, no phone numbers, no raw URLs.
    const routes = new Set((after.get('http_request_duration_seconds')?.samples ?? []).map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(expect.arrayContaining(['/metrics', '/v1/knowledge', '/v1/messages', '/v1/messages/:id', '/v1/webhooks', '/webhooks/whatsapp', 'unmatched']));
    for (const r of routes) expect(r).toMatch(/^(unmatched|(\/(v1|[a-z_]+|:[a-z_]+))+)$/);
    expect(text).not.toContain('msg_01nosuchmessage');
    expect(text).not.toContain('/v1/no/such/route');
    expect(text).not.toContain(sent.body.id);

    const graphCalls = (labels: Record<string, string>) => delta(after, 'gateway_graph_requests_total', { operation: 'send', ...labels });
    expect(graphCalls({ outcome: 'ok', code: 'none' })).toBe(1);
    expect(graphCalls({ outcome: 'error', code: '131026' })).toBe(1);
    expect(delta(after, 'gateway_graph_request_duration_seconds_count', { operation: 'send' })).toBe(2);

    expect(delta(after, 'gateway_jobs_processed_total', { queue: 'agent' })).toBe(1);
    expect(delta(after, 'gateway_jobs_processed_total', { queue: sendQueue })).toBe(2);
    expect(delta(after, 'gateway_jobs_processed_total', { queue: 'webhooks' })).toBe(1);
    expect(delta(after, 'gateway_jobs_failed_total', {})).toBe(0);
    expect(delta(after, 'gateway_agent_turns_total', { outcome: 'replied' })).toBe(1);
    expect(delta(after, 'gateway_webhook_delivery_attempts_total', { outcome: 'succeeded' })).toBe(1);
    expect(delta(after, 'gateway_webhook_delivery_attempts_total', {})).toBe(1);

    // One chat call and one query embedding for the turn; tokens equal what the usage report recorded.
    expect(delta(after, 'gateway_model_request_duration_seconds_count', { kind: 'chat', model: 'gpt-4o-mini', outcome: 'ok' })).toBe(1);
    expect(delta(after, 'gateway_model_request_duration_seconds_count', { kind: 'embedding', model: 'text-embedding-3-small', outcome: 'ok' })).toBe(1);
    const usage = await f.rows<{ kind: string; input: string; output: string }>(
      'select kind, sum(input_tokens)::text as input, sum(output_tokens)::text as output from usage_records group by kind',
    );
    const chat = usage.find((u) => u.kind === 'chat');
    const embedding = usage.find((u) => u.kind === 'embedding');
    expect(Number(chat?.input)).toBeGreaterThan(0);
    expect(sum(after, 'gateway_model_tokens_total', { kind: 'chat', model: 'gpt-4o-mini', direction: 'input' })).toBe(Number(chat?.input));
    expect(sum(after, 'gateway_model_tokens_total', { kind: 'chat', direction: 'output' })).toBe(Number(chat?.output));
    expect(sum(after, 'gateway_model_tokens_total', { kind: 'embedding', direction: 'input' })).toBe(Number(embedding?.input));

    // Queue depths, read from Redis at scrape time: every fixed queue and the number's send queue.
    expect(sum(after, 'gateway_queue_stats_up')).toBe(1);
    for (const queue of ['agent', 'knowledge', 'webhooks', 'media', sendQueue]) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(has(after, 'gateway_queue_jobs', { queue, state })).toBe(true);
      expect(has(after, 'gateway_queue_oldest_waiting_job_age_seconds', { queue })).toBe(true);
    }
    expect(sum(after, 'gateway_queue_jobs', { queue: sendQueue, state: 'failed' })).toBe(0);

    // Process metrics from prom-client.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(has(after, name)).toBe(true);
    }

    // No secret, token or phone number anywhere in the exposition.
    for (const secret of [key, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, endpointSecret, METRICS_TOKEN, OPENAI_KEY, waId, f.rt.config.masterKey?.toString('hex') as string]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(text).not.toContain(secret);
    }
  });
});

describe('/metrics without a token, the age of the oldest waiting job, and METRICS_PORT', () => {
  let rt: TestRuntime;
  let split: TestRuntime;

  beforeAll(async () => {
    // No workers: jobs added here wait.
    rt = await createTestRuntime({ workers: false });
    split = await createTestRuntime({ workers: false, env: { METRICS_PORT: '0' } });
  });
  afterAll(async () => {
    await rt.teardown();
    await split.teardown();
  });

  it('serves /metrics openly when METRICS_TOKEN is unset; waiting jobs show their count and age', async () => {
    await rt.queues?.add('knowledge', { workspaceId: 'ws_x', documentId: 'doc_x', version: 1 });
    await rt.queues?.add('knowledge', { workspaceId: 'ws_x', documentId: 'doc_y', version: 1 }, { delay: 60_000 });
    await new Promise((r) => setTimeout(r, 1_200));
    const e = parseExposition((await request(rt.app as Express).get('/metrics').expect(200)).text);
    expect(sum(e, 'gateway_queue_jobs', { queue: 'knowledge', state: 'waiting' })).toBe(1);
    expect(sum(e, 'gateway_queue_jobs', { queue: 'knowledge', state: 'delayed' })).toBe(1);
    const age = sum(e, 'gateway_queue_oldest_waiting_job_age_seconds', { queue: 'knowledge' });
    expect(age).toBeGreaterThanOrEqual(1.1);
    expect(age).toBeLessThan(30);
    expect(sum(e, 'gateway_queue_jobs', { queue: 'agent', state: 'waiting' })).toBe(0);
    expect(sum(e, 'gateway_queue_oldest_waiting_job_age_seconds', { queue: 'agent' })).toBe(0);
    // This runtime's registry is its own: the other runtime's traffic is not in it.
    expect(sum(e, 'http_request_duration_seconds_count', { route: '/webhooks/whatsapp' })).toBe(0);
  });

  it('with METRICS_PORT, /metrics moves to the metrics app (with /healthz and /readyz) and leaves the API', async () => {
    expect(split.metricsApp).toBeDefined();
    await request(split.app as Express).get('/metrics').expect(404);
    const res = await request(split.metricsApp as Express).get('/metrics').expect(200);
    expect(has(parseExposition(res.text), 'gateway_queue_stats_up')).toBe(true);
    await request(split.metricsApp as Express).get('/healthz').expect(200);
    await request(split.metricsApp as Express).get('/readyz').expect(200);
    await request(split.metricsApp as Express).get('/v1/me').expect(404);
    expect(rt.metricsApp).toBeUndefined();
  });
});

describe('a worker-only process (ROLE=worker) is scraped on METRICS_PORT', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-metrics-'));
  const prefix = `m${randomBytes(5).toString('hex')}`;
  afterAll(async () => {
    await deleteRedisPrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /metrics and /healthz on METRICS_PORT, nothing else, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'workers/main.ts')], {
      cwd: ROOT,
      env: childEnv({ DATA_DIR: dataDir, QUEUE_PREFIX: prefix, REDIS_URL, HOST: '127.0.0.1', METRICS_PORT: String(port), METRICS_TOKEN, REDIS_AUTOSTART: 'false' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the metrics listener', () => out.includes('metrics listening'), 45_000);
      expect(out).toContain('workers running');
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      const e = parseExposition(await res.text());
      expect(has(e, 'gateway_queue_jobs', { queue: 'agent', state: 'waiting' })).toBe(true);
      expect(has(e, 'process_cpu_user_seconds_total')).toBe(true);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/v1/me`)).status).toBe(404);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
