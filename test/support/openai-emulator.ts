import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { z } from 'zod';

/**
 * A local emulation of the OpenAI HTTP API, at the protocol level, so the real @langchain/openai
 * and openai SDK code runs against it: chat completions (plain, tools, json_schema, streaming),
 * embeddings (float and base64) and audio transcriptions. Answers come from a handler the test
 * sets; every request is recorded, and faults can be injected.
 */
export interface ChatRequestView {
  model: string;
  /** Content parts are joined with newlines; a null content is ''. */
  messages: { role: string; content: string }[];
  /** Every system (and developer) message, joined. */
  system: string;
  lastUser: string;
  tools?: unknown[];
  responseFormat?: unknown;
  stream: boolean;
  body: Record<string, unknown>;
}

/**
 * `json` becomes a tool call when the request has tools (`tool` picks one when tool_choice does not),
 * otherwise the content; `text` is always the content. JSON for a json_schema or a strict tool must fit.
 */
export type ChatReply = { json: unknown; tool?: string } | { text: string };
export type ChatHandler = (req: ChatRequestView) => ChatReply | Promise<ChatReply>;
export interface EmbeddingsRequest { model: string; input: string[]; encoding_format?: string; dimensions?: number }
export interface TranscriptionRequest { bytes: number; model?: string }

/** Which endpoint an injected fault applies to (all when not given). */
export type Endpoint = 'chat' | 'embeddings' | 'transcriptions';

export interface OpenAiEmulatorOptions {
  /** When set, only this bearer key is accepted; otherwise any non-empty one is. */
  apiKey?: string;
  /** A fixed port (to restart an emulator on the same URL); a free one otherwise. */
  port?: number;
}

export interface OpenAiEmulator {
  /** Base URL including /v1, for `configuration: { baseURL }`. */
  url: string;
  /** Requests that passed authentication and body validation, failed ones (failNext) included. */
  requests: { chat: ChatRequestView[]; embeddings: EmbeddingsRequest[]; transcriptions: TranscriptionRequest[] };
  /** Mistakes in the test's chat handler the emulator answered 500 for; assert it stays empty. */
  handlerErrors: string[];
  onChat(handler: ChatHandler): void;
  setTranscription(text: string): void;
  /** The next n requests (any endpoint) get `status` with an OpenAI error body, or `body` as is. */
  failNext(n: number, status?: number, body?: unknown, headers?: Record<string, string>, only?: Endpoint): void;
  /** Every chat answer (error or not) waits this long before its headers. */
  setDelay(ms: number): void;
  /** Back to the initial state: default handler and transcription, no faults, no delay, no records. */
  reset(): void;
  close(): Promise<void>;
}

const STREAM_PIECE = 4;
const DEFAULT_TRANSCRIPTION = 'transcribed audio';
// Negations stay: they carry meaning a lexical test may want to see.
const STOPWORDS = new Set(
  ('a an the and or but of to in on at for with is are was were be been being it its this that these those i me my you your ' +
    'he him his she her we us our they them their as by from do does did have has had so if then than there here what which ' +
    'who whom how when where why can will would should could just also very into about over up down out').split(' '),
);

const FINGERPRINT = { service_tier: 'default', system_fingerprint: 'fp_emulator' };
const tokens = (chars: number) => Math.ceil(chars / 4);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const randomId = (prefix: string, len: number) =>
  prefix + randomBytes(len).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, len).padEnd(len, '0');

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The vector the emulator serves for `text`: word and word-bigram features hashed into `dims`
 * signed buckets, L2-normalized, so texts sharing words are close. Values are float32 so the
 * float and base64 encodings give the same numbers.
 */
export function emulatorEmbedding(text: string, dims = 1536): number[] {
  const v = new Array<number>(dims).fill(0);
  const words = (text.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOPWORDS.has(w));
  const add = (feature: string, weight: number) => {
    const i = fnv1a(feature) % dims;
    v[i] = (v[i] ?? 0) + (fnv1a(`sign:${feature}`) & 1 ? weight : -weight);
  };
  words.forEach((w, i) => {
    add(`w:${w}`, 1);
    if (i > 0) add(`b:${words[i - 1]} ${w}`, 0.5);
  });
  const norm = Math.hypot(...v);
  if (norm === 0) return v.map((_, i) => (i === 0 ? 1 : 0));
  return v.map((x) => Math.fround(x / norm));
}

const Part = z.looseObject({ type: z.string(), text: z.string().optional() });
const ChatBody = z.looseObject({
  model: z.string().min(1),
  messages: z.array(z.looseObject({ role: z.string(), content: z.union([z.string(), z.array(Part), z.null()]).optional() })).min(1),
  tools: z.array(z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string(), parameters: z.unknown(), strict: z.boolean().nullish() }).optional() })).optional(),
  tool_choice: z.union([z.string(), z.looseObject({ function: z.looseObject({ name: z.string() }).optional() })]).optional(),
  response_format: z
    .looseObject({ type: z.enum(['text', 'json_object', 'json_schema']), json_schema: z.looseObject({ name: z.string(), schema: z.unknown(), strict: z.boolean().nullish() }).optional() })
    .optional(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
});
type ChatBody = z.infer<typeof ChatBody>;
const EmbeddingsBody = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  dimensions: z.number().int().positive().optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
});

class BadRequest extends Error {
  constructor(message: string, readonly param: string | null = null, readonly code: string | null = null) {
    super(message);
  }
}

function errorBody(status: number, message: string, code: string | null = null, param: string | null = null) {
  const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param, code: code ?? (status === 429 ? 'rate_limit_exceeded' : null) } };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new BadRequest(`Invalid request body: ${z.prettifyError(r.error)}`, issue?.path.join('.') || null);
}

/** OpenAI refuses strict schemas whose objects allow extra keys or have optional keys. */
function strictSchemaProblem(node: unknown, ctx: string[] = []): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const o = node as Record<string, unknown>;
  const where = `In context=(${ctx.map((c) => `'${c}'`).join(', ')})`;
  if (!Array.isArray(node) && (o.type === 'object' || o.properties)) {
    if (o.additionalProperties !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const missing = Object.keys(o.properties ?? {}).find((k) => !(Array.isArray(o.required) && o.required.includes(k)));
    if (missing) return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
  }
  // Children are schemas, except under keywords that hold data; `properties` holds named schemas.
  const children = Object.entries(o).filter(([k]) => Array.isArray(node) || !['const', 'default', 'enum', 'examples', 'properties'].includes(k));
  if (!Array.isArray(node) && o.properties && typeof o.properties === 'object') {
    children.push(...Object.entries(o.properties).map(([name, v]): [string, unknown] => [`properties', '${name}`, v]));
  }
  for (const [k, v] of children) {
    const p = strictSchemaProblem(v, [...ctx, k]);
    if (p) return p;
  }
  return undefined;
}

/** Refuses, like OpenAI, a request whose strict json_schema or strict tool has a schema it cannot enforce. */
function checkStrictSchemas(body: ChatBody) {
  const rf = body.response_format?.json_schema;
  const p = rf?.strict === true ? strictSchemaProblem(rf.schema) : undefined;
  if (p) throw new BadRequest(`Invalid schema for response_format '${rf?.name}': ${p}`, 'response_format', 'invalid_json_schema');
  for (const [i, t] of (body.tools ?? []).entries()) {
    const q = t.function?.strict === true ? strictSchemaProblem(t.function.parameters) : undefined;
    if (q) throw new BadRequest(`Invalid schema for function '${t.function?.name}': ${q}`, `tools[${i}].function.parameters`, 'invalid_json_schema');
  }
}

function viewOf(body: ChatBody, raw: Record<string, unknown>): ChatRequestView {
  const messages = body.messages.map((m) => ({
    role: m.role,
    content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text ?? '').filter(Boolean).join('\n'),
  }));
  return {
    model: body.model,
    messages,
    system: messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.content).join('\n\n'),
    lastUser: messages.filter((m) => m.role === 'user').at(-1)?.content ?? '',
    ...(body.tools ? { tools: body.tools } : {}),
    ...(body.response_format ? { responseFormat: body.response_format } : {}),
    stream: body.stream === true,
    body: raw,
  };
}

function schemaChecker() {
  const ajv07 = addFormats(new Ajv({ strict: false, allErrors: true }));
  const ajv2020 = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const compiled = new Map<string, ValidateFunction>();
  return (schema: unknown, value: unknown): string | undefined => {
    if (!schema || typeof schema !== 'object') return undefined;
    // Without $id, the same schema sent again compiles (and caches) under its text, not its id.
    const { $schema, $id: _id, ...rest } = schema as Record<string, unknown>;
    const key = `${String($schema)} ${JSON.stringify(rest)}`;
    const ajv = typeof $schema === 'string' && /draft-0[4-7]/.test($schema) ? ajv07 : ajv2020;
    const validate = compiled.get(key) ?? ajv.compile(rest);
    compiled.set(key, validate);
    return validate(value) ? undefined : ajv.errorsText(validate.errors);
  };
}

/** What the assistant says: content, or one call of a tool. */
type Answer = { content: string | null; toolCall?: { id: string; name: string; arguments: string } };

function answerFor(body: ChatBody, reply: ChatReply, check: ReturnType<typeof schemaChecker>): Answer {
  if (!reply || typeof reply !== 'object' || !('json' in reply || 'text' in reply)) {
    throw new Error(`the chat handler must return { json } or { text }, got ${JSON.stringify(reply)}`);
  }
  const rf = body.response_format;
  if ('text' in reply) {
    // Strict structured output always parses; text here would only exercise an impossible path.
    if (rf?.json_schema?.strict === true && !body.tools?.length) throw new Error(`a strict json_schema request must get { json }, not { text }`);
    return { content: String(reply.text) };
  }
  const tools = (body.tools ?? []).filter((t) => t.function);
  const choice = body.tool_choice;
  if (tools.length && choice !== 'none') {
    const name = (typeof choice === 'object' ? choice.function?.name : undefined) ?? reply.tool ?? tools[0]?.function?.name;
    const fn = tools.find((t) => t.function?.name === name)?.function;
    if (!fn) throw new Error(`the chat handler chose tool "${name}", which the request does not offer`);
    // Like OpenAI, only strict tools are guaranteed to get conforming arguments.
    const problem = fn.strict ? check(fn.parameters, reply.json) : undefined;
    if (problem) throw new Error(`the handler's JSON does not match strict tool "${fn.name}": ${problem}`);
    return { content: null, toolCall: { id: randomId('call_', 24), name: fn.name, arguments: JSON.stringify(reply.json) } };
  }
  if (rf?.type === 'json_schema') {
    const problem = check(rf.json_schema?.schema, reply.json);
    if (problem) throw new Error(`the handler's JSON does not match response_format "${rf.json_schema?.name}": ${problem}`);
  }
  return { content: JSON.stringify(reply.json) };
}

const pieces = (s: string) => (s.match(new RegExp(`[^]{1,${STREAM_PIECE}}`, 'gu')) ?? []) as string[];

async function streamAnswer(res: express.Response, body: ChatBody, answer: Answer, usage: Record<string, unknown>) {
  const includeUsage = body.stream_options?.include_usage === true;
  const base = { id: randomId('chatcmpl-', 29), object: 'chat.completion.chunk', created: nowSeconds(), model: body.model, ...FINGERPRINT };
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) => chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
  const frames = [delta({ role: 'assistant', content: '', refusal: null })];
  const call = answer.toolCall;
  if (call) {
    frames.push(delta({ tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const p of pieces(call.arguments)) frames.push(delta({ tool_calls: [{ index: 0, function: { arguments: p } }] }));
  } else {
    for (const p of pieces(answer.content ?? '')) frames.push(delta({ content: p }));
  }
  frames.push(delta({}, call ? 'tool_calls' : 'stop'));
  if (includeUsage) frames.push(chunk([], { usage }));
  frames.push('data: [DONE]\n\n');
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (const f of frames) {
    res.write(f);
    // Separate writes let a client see the chunks arrive one by one.
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

export async function startOpenAiEmulator(opts: OpenAiEmulatorOptions = {}): Promise<OpenAiEmulator> {
  const requests: OpenAiEmulator['requests'] = { chat: [], embeddings: [], transcriptions: [] };
  const handlerErrors: string[] = [];
  const defaultHandler: ChatHandler = () => ({ text: 'ok' });
  let handler = defaultHandler;
  let transcription = DEFAULT_TRANSCRIPTION;
  let delayMs = 0;
  const faults: { left: number; status: number; body?: unknown; headers?: Record<string, string>; only?: Endpoint } = { left: 0, status: 500 };
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(() => (timers.delete(t), r()), ms);
      timers.add(t);
    });
  const check = schemaChecker();

  /** Answers with the injected fault, if one is pending. */
  const fault = (res: express.Response, endpoint?: Endpoint): boolean => {
    if (faults.left <= 0 || (faults.only !== undefined && faults.only !== endpoint)) return false;
    faults.left--;
    res.set(faults.headers ?? {});
    res.status(faults.status).json(faults.body ?? errorBody(faults.status, `The emulator was told to fail this request with ${faults.status}.`));
    return true;
  };

  const app = express();
  app.use((req, res, next) => {
    const key = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!key) {
      return void res.status(401).json(errorBody(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."));
    }
    if (opts.apiKey !== undefined && key !== opts.apiKey) {
      return void res.status(401).json(errorBody(401, `Incorrect API key provided: ${key.slice(0, 3)}...${key.slice(-4)}.`, 'invalid_api_key'));
    }
    next();
  });
  app.use(express.json({ limit: '20mb' }));
  app.use(express.raw({ type: 'multipart/*', limit: '20mb' }));

  app.post('/v1/chat/completions', async (req, res) => {
    const body = parse(ChatBody, req.body);
    checkStrictSchemas(body);
    const view = viewOf(body, req.body as Record<string, unknown>);
    requests.chat.push(view);
    if (delayMs > 0) await sleep(delayMs);
    if (fault(res, 'chat')) return;
    let answer: Answer;
    try {
      answer = answerFor(body, await handler(view), check);
    } catch (e) {
      const message = `openai-emulator: bug in the test's chat handler: ${e instanceof Error ? e.message : String(e)}`;
      handlerErrors.push(message);
      console.error(message);
      return void res.status(500).json(errorBody(500, message));
    }
    const prompt = tokens(view.messages.reduce((n, m) => n + m.content.length, 0));
    const completion = tokens((answer.toolCall?.arguments ?? answer.content ?? '').length);
    const usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    if (view.stream) return streamAnswer(res, body, answer, usage);
    const call = answer.toolCall;
    const toolCalls = call ? { tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] } : {};
    const message = { role: 'assistant', content: answer.content, refusal: null, annotations: [], ...toolCalls };
    const choices = [{ index: 0, message, logprobs: null, finish_reason: call ? 'tool_calls' : 'stop' }];
    res.json({ id: randomId('chatcmpl-', 29), object: 'chat.completion', created: nowSeconds(), model: body.model, choices, usage, ...FINGERPRINT });
  });

  app.post('/v1/embeddings', (req, res) => {
    const raw = (req.body ?? {}) as { input?: unknown };
    if (Array.isArray(raw.input) && raw.input.some((x) => typeof x !== 'string')) {
      throw new BadRequest('The emulator only takes string inputs; token arrays are not supported.', 'input');
    }
    const body = parse(EmbeddingsBody, req.body);
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    requests.embeddings.push({ model: body.model, input, encoding_format: body.encoding_format, dimensions: body.dimensions });
    if (fault(res, 'embeddings')) return;
    const dims = body.dimensions ?? 1536;
    const encode = (v: number[]) => {
      if (body.encoding_format !== 'base64') return v;
      const buf = Buffer.alloc(v.length * 4);
      v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
      return buf.toString('base64');
    };
    const used = tokens(input.reduce((n, s) => n + s.length, 0));
    const data = input.map((text, index) => ({ object: 'embedding', index, embedding: encode(emulatorEmbedding(text, dims)) }));
    res.json({ object: 'list', data, model: body.model, usage: { prompt_tokens: used, total_tokens: used } });
  });

  app.post('/v1/audio/transcriptions', (req, res) => {
    if (!Buffer.isBuffer(req.body)) throw new BadRequest('Expected a multipart/form-data body.');
    // No multipart parser: the form fields are plain text inside the raw body.
    const text = req.body.toString('latin1');
    const field = (name: string) => new RegExp(`name="${name}"\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n([^\\r\\n]*)`).exec(text)?.[1];
    const model = field('model');
    requests.transcriptions.push({ bytes: req.body.length, ...(model ? { model } : {}) });
    if (fault(res, 'transcriptions')) return;
    if (field('response_format') === 'text') return void res.type('text/plain').send(transcription);
    res.json({ text: transcription });
  });

  app.use((req, res) => {
    if (fault(res)) return;
    res.status(404).json(errorBody(404, `Invalid URL (${req.method} ${req.path})`));
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err instanceof BadRequest) return void res.status(400).json(errorBody(400, err.message, err.code, err.param));
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return void res.status(status).json(errorBody(status, (err as Error).message));
    }
    console.error('openai-emulator: internal error', err);
    res.status(500).json(errorBody(500, `openai-emulator internal error: ${String(err)}`));
  });

  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    handlerErrors,
    onChat(h) {
      handler = h;
    },
    setTranscription(text) {
      transcription = text;
    },
    failNext(n, status = 500, body, headers, only) {
      Object.assign(faults, { left: n, status, body, headers, only });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      handler = defaultHandler;
      transcription = DEFAULT_TRANSCRIPTION;
      delayMs = 0;
      Object.assign(faults, { left: 0, status: 500, body: undefined, headers: undefined, only: undefined });
      requests.chat.length = 0;
      requests.embeddings.length = 0;
      requests.transcriptions.length = 0;
      handlerErrors.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        timers.forEach(clearTimeout);
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
