import path from 'node:path';
import { z } from 'zod';

/**
 * The one schema of every environment variable the gateway reads. Nothing else in the codebase
 * touches process.env (an eslint rule enforces it): everything else receives a `Config`.
 */

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

/**
 * Express's `trust proxy`: false (the socket's address is the client), true, a number of hops, or
 * a comma-separated list of addresses, CIDR ranges and the names loopback, linklocal, uniquelocal.
 */
const trustProxy = z
  .string()
  .optional()
  .transform((v, ctx): boolean | number | string[] => {
    const t = v?.trim() ?? '';
    if (t === '' || t === 'false') return false;
    if (t === 'true') return true;
    if (/^\d{1,2}$/.test(t)) return Number(t);
    const parts = t.split(',').map((p) => p.trim());
    const ok = parts.every((p) => ['loopback', 'linklocal', 'uniquelocal'].includes(p) || /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p));
    if (!ok) {
      ctx.addIssue({ code: 'custom', message: 'must be false, true, a number of hops, or a list of addresses/CIDRs (loopback, linklocal, uniquelocal)' });
      return z.NEVER;
    }
    return parts;
  });

/** A duration with its unit ("30m", "90s", "2h", "500ms"), or 0; in milliseconds. */
const duration = (fallbackMs: number, maxMs: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallbackMs;
      const m = /^(\d+)\s*(ms|s|m|h)?$/.exec(v.trim());
      const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m?.[2] ?? ''];
      const ms = m && (unit !== undefined ? Number(m[1]) * unit : Number(m[1]) === 0 ? 0 : NaN);
      if (ms === null || ms === undefined || !Number.isFinite(ms) || ms > maxMs) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration like 30m, 90s or 2h (0 disables)' });
        return z.NEVER;
      }
      return ms;
    });

const url = (protocols: string[], fallback?: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v.trim() === '' ? fallback : v.trim();
      if (value === undefined) return undefined;
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a valid URL' });
        return z.NEVER;
      }
      if (!protocols.includes(parsed.protocol)) {
        ctx.addIssue({ code: 'custom', message: `must use ${protocols.join(' or ')}` });
        return z.NEVER;
      }
      return value.replace(/\/+$/, '');
    });

/** 32 bytes, written as 64 hex characters or as base64 (44 characters). */
const masterKey = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    const s = v.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
    if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(s) && key.toString('base64') !== s)) {
      ctx.addIssue({ code: 'custom', message: 'must be 32 bytes written as 64 hex characters or base64' });
      return z.NEVER;
    }
    return key;
  });

export const envSchema = z
  .object({
    NODE_ENV: z
      .enum(['development', 'test', 'production'], { message: 'must be development, test or production' })
      .default('development'),
    PORT: int(3000, 0, 65535),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        message: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    LOG_FORMAT: z.enum(['auto', 'pretty', 'json'], { message: 'must be auto, pretty or json' }).default('auto'),
    DEMO_SEED: z.enum(['auto', 'off'], { message: 'must be auto or off' }).default('auto'),
    ROLE: z.enum(['all', 'api', 'worker'], { message: 'must be all, api or worker' }).default('all'),
    DATA_DIR: z.string().trim().min(1).default('./.data'),
    DATABASE_URL: url(['postgres:', 'postgresql:']),
    DATABASE_POOL_MAX: int(10, 1, 200),
    DATABASE_HOUSEKEEPING: z.enum(['auto', 'on', 'off'], { message: 'must be auto, on or off' }).default('auto'),
    EMBEDDED_DATABASE_THREAD: bool(true),
    REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
    REDIS_AUTOSTART: bool(true),
    QUEUE_PREFIX: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 letters, digits, dots, dashes or underscores' })
      .default('gw'),
    MASTER_KEY: masterKey,
    SHUTDOWN_TIMEOUT_MS: int(25_000, 100, 600_000),
    METRICS_TOKEN: z
      .string()
      .trim()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return undefined;
        if (!/^[\x21-\x7e]{16,256}$/.test(v)) {
          ctx.addIssue({ code: 'custom', message: 'must be 16 to 256 printable characters without spaces' });
          return z.NEVER;
        }
        return v;
      }),
    METRICS_PORT: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) {
          ctx.addIssue({ code: 'custom', message: 'must be an integer from 0 to 65535' });
          return z.NEVER;
        }
        return n;
      }),
    AGENT_DEBOUNCE_MS: int(1_500, 0, 60_000),
    RATE_LIMIT_PER_MINUTE: int(600, 0, 1_000_000),
    RATE_LIMIT_SENDS_PER_MINUTE: int(300, 0, 1_000_000),
    HUMAN_IDLE_TIMEOUT: duration(30 * 60_000, 7 * 24 * 3_600_000),
    SSE_HEARTBEAT_MS: int(15_000, 100, 300_000),
    EVENT_DISPATCH_INTERVAL_MS: int(100, 10, 60_000),
    ALLOW_INSECURE_WEBHOOKS: bool(false),
    ALLOW_PRIVATE_WEBHOOK_URLS: bool(false),
    TRUST_PROXY: trustProxy,
    WEBHOOK_INGRESS_FAILURES_PER_MINUTE: int(30, 0, 1_000_000),
    WEBHOOK_TIMEOUT_MS: int(15_000, 100, 60_000),
    WEBHOOK_RETRY_SCHEDULE: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
        const parts = v.split(',').map((p) => duration(-1, 7 * 24 * 3_600_000).safeParse(p.trim()));
        if (parts.length > 20 || parts.some((p) => !p.success || p.data < 0)) {
          ctx.addIssue({ code: 'custom', message: 'must be up to 20 comma-separated durations like 5s,5m,30m,2h' });
          return z.NEVER;
        }
        return parts.map((p) => p.data as number);
      }),
    WEBHOOK_DISABLE_AFTER: duration(5 * 24 * 3_600_000, 30 * 24 * 3_600_000),
    WEBHOOK_CONCURRENCY: int(10, 1, 200),
    TEMPLATE_SYNC_INTERVAL_MS: int(15 * 60_000, 0, 24 * 3_600_000),
    READ_RECEIPTS: z
      .enum(['off', 'on_receipt', 'on_answer'], { message: 'must be off, on_receipt or on_answer' })
      .default('on_answer'),
    SUPABASE_URL: url(['https:', 'http:']),
    SUPABASE_SERVICE_ROLE_KEY: optionalString,
    SUPABASE_STORAGE_BUCKET: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, { message: 'must be a bucket name: lower-case letters, digits, . _ -' })
      .default('whatsapp-media'),
    WHATSAPP_GRAPH_URL: url(['https:', 'http:'], 'https://graph.facebook.com'),
    WHATSAPP_API_VERSION: z
      .string()
      .trim()
      .regex(/^v\d+\.\d+$/, { message: 'must look like v23.0' })
      .default('v23.0'),
    WHATSAPP_PHONE_NUMBER_ID: optionalString,
    WHATSAPP_WABA_ID: optionalString,
    WHATSAPP_DISPLAY_NUMBER: optionalString,
    WHATSAPP_ACCESS_TOKEN: optionalString,
    WHATSAPP_APP_SECRET: optionalString,
    WHATSAPP_VERIFY_TOKEN: optionalString,
    WHATSAPP_MPS: int(80, 1, 1000),
    SANDBOX_ENABLED: bool(true),
    SANDBOX_GATEWAY_URL: url(['http:', 'https:']),
    SANDBOX_STATUS_DELAYS: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return { sentMs: 500, deliveredMs: 1_500, readMs: 3_000 };
        const parts = v.split(',').map((p) => duration(-1, 3_600_000).safeParse(p.trim()));
        if (parts.length !== 3 || parts.some((p) => !p.success || p.data < 0)) {
          ctx.addIssue({ code: 'custom', message: 'must be three durations (sent, delivered, read), like 500ms,1500ms,3s' });
          return z.NEVER;
        }
        const [sentMs, deliveredMs, readMs] = parts.map((p) => p.data as number) as [number, number, number];
        return { sentMs, deliveredMs, readMs };
      }),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: url(['https:', 'http:']),
    LLM_MODEL: z.string().trim().min(1).max(200).default('gpt-4o-mini'),
    EMBEDDING_MODEL: z.string().trim().min(1).max(200).default('text-embedding-3-small'),
    TRANSCRIPTION_MODEL: z.string().trim().min(1).max(200).default('whisper-1'),
    LLM_TIMEOUT_MS: int(30_000, 1_000, 600_000),
    LLM_MAX_RETRIES: int(2, 0, 10),
    AGENT_MIN_CONFIDENCE: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return 0.5;
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0 || n > 1) {
          ctx.addIssue({ code: 'custom', message: 'must be a number from 0 to 1' });
          return z.NEVER;
        }
        return n;
      }),
    AGENT_HANDOFF_KEYWORDS: z
      .string()
      .optional()
      .transform((v) => (v ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0)),
    AGENT_HANDOFF_MESSAGE: z
      .string()
      .trim()
      .min(1)
      .max(1000)
      .default('Thanks for your patience! A member of our team will take it from here and reply shortly.'),
    AGENT_VOICE_NOTE_REPLY: z
      .string()
      .trim()
      .min(1)
      .max(1000)
      .default("Sorry, I can't listen to voice notes. Could you type your question?"),
    AGENT_CONCURRENCY: int(4, 1, 100),
    AGENT_HISTORY_TOKENS: int(1_500, 0, 100_000),
    KNOWLEDGE_GAP_THRESHOLD: int(3, 1, 100_000),
    MODEL_PRICES: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return {};
        const schema = z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0).default(0) }));
        let parsed: unknown;
        try {
          parsed = JSON.parse(v);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON like {"gpt-4o-mini":{"input":0.15,"output":0.6}} (USD per million tokens)' });
          return z.NEVER;
        }
        const r = schema.safeParse(parsed);
        if (!r.success) {
          ctx.addIssue({ code: 'custom', message: 'must map model names to {input, output} prices in USD per million tokens' });
          return z.NEVER;
        }
        return r.data;
      }),
    ADMIN_API_KEY: z
      .string()
      .trim()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return undefined;
        if (!/^gw_live_[A-Za-z0-9_-]{32,}$/.test(v)) {
          ctx.addIssue({ code: 'custom', message: 'must be gw_live_ followed by at least 32 letters, digits, - or _' });
          return z.NEVER;
        }
        return v;
      }),
  })
  .superRefine((env, ctx) => {
    const single = {
      WHATSAPP_PHONE_NUMBER_ID: env.WHATSAPP_PHONE_NUMBER_ID,
      WHATSAPP_WABA_ID: env.WHATSAPP_WABA_ID,
      WHATSAPP_ACCESS_TOKEN: env.WHATSAPP_ACCESS_TOKEN,
      WHATSAPP_APP_SECRET: env.WHATSAPP_APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: env.WHATSAPP_VERIFY_TOKEN,
    };
    const set = Object.entries(single).filter(([, v]) => v !== undefined);
    if (set.length > 0 && set.length < Object.keys(single).length) {
      for (const [name, v] of Object.entries(single)) {
        if (v === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `is required when ${set.map(([n]) => n).join(', ')} ${set.length === 1 ? 'is' : 'are'} set`,
          });
        }
      }
    }
    if ((env.SUPABASE_URL === undefined) !== (env.SUPABASE_SERVICE_ROLE_KEY === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.SUPABASE_URL === undefined ? 'SUPABASE_URL' : 'SUPABASE_SERVICE_ROLE_KEY'],
        message: 'is required with the other Supabase Storage variable (set both, or neither for local disk)',
      });
    }
    if (env.NODE_ENV === 'production' && env.MASTER_KEY === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['MASTER_KEY'],
        message: 'is required when NODE_ENV=production (32 bytes, hex or base64; e.g. `openssl rand -hex 32`)',
      });
    }
  });

type Env = z.output<typeof envSchema>;

export type Role = Env['ROLE'];

export interface SingleNumberConfig {
  phoneNumberId: string;
  wabaId: string;
  displayNumber: string | undefined;
  accessToken: string;
  appSecret: string;
  verifyToken: string;
  mps: number;
}

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  port: number;
  host: string;
  logLevel: Env['LOG_LEVEL'];
  /** auto: pretty when stdout is a terminal, JSON otherwise. */
  logFormat: Env['LOG_FORMAT'];
  /** auto: seed the demo workspace on a first start with the embedded database (src/demo). */
  demoSeed: Env['DEMO_SEED'];
  role: Role;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  /** VACUUM (ANALYZE) of grown tables where autovacuum does not run (see housekeeping.ts). */
  databaseHousekeeping: 'auto' | 'on' | 'off';
  /** The embedded database on a thread of its own (see pglite-thread.ts); off: on the event loop's. */
  embeddedDatabaseThread: boolean;
  redisUrl: string;
  redisAutostart: boolean;
  queuePrefix: string;
  /** undefined means: use (or create) the key file under dataDir; refused in production. */
  masterKey: Buffer | undefined;
  shutdownTimeoutMs: number;
  /**
   * /metrics: `token` (METRICS_TOKEN) is required as a bearer token when set; `port`
   * (METRICS_PORT) moves /metrics (with /healthz, /readyz) to its own listener on HOST, the only
   * way to scrape a ROLE=worker process.
   */
  metrics: { token: string | undefined; port: number | undefined };
  agentDebounceMs: number;
  /** Per API key and minute: all requests, and sends (POST /v1/messages, replies); 0: no limit. */
  rateLimits: { requestsPerMinute: number; sendsPerMinute: number };
  /** A taken-over conversation returns to the bot after this long without agent activity (0: never). */
  humanIdleTimeoutMs: number;
  sseHeartbeatMs: number;
  /** How often worker processes move new outbox events onto the live stream. */
  eventDispatchIntervalMs: number;
  /** How often the template catalog is pulled from Meta (0: never on a schedule). */
  templateSyncIntervalMs: number;
  /** Supabase Storage for media; undefined: local disk under dataDir/media. */
  supabase: { url: string; serviceRoleKey: string; bucket: string } | undefined;
  readReceipts: Env['READ_RECEIPTS'];
  whatsapp: { graphUrl: string; apiVersion: string; singleNumber: SingleNumberConfig | undefined };
  adminApiKey: string | undefined;
  ai: AiConfig;
  webhooks: WebhooksConfig;
  sandbox: SandboxConfig;
  /** Which proxies' X-Forwarded-For is believed (express's `trust proxy`). */
  trustProxy: boolean | number | string[];
  /** Failed Meta-webhook signatures one source may send a minute before it is refused unread (0: no limit). */
  ingressFailuresPerMinute: number;
}

/** The Cloud API simulator (sandbox numbers, test keys) and its customer chat page. */
export interface SandboxConfig {
  /** false: no /sandbox page and no page API (the simulator still serves test keys' sends). */
  enabled: boolean;
  /** Where the simulator and the workers reach this gateway; undefined: its own listening address. */
  gatewayUrl: string | undefined;
  /** Delays of the simulated status webhooks: accepted -> sent -> delivered -> read. */
  statusDelaysMs: { sentMs: number; deliveredMs: number; readMs: number };
}

export interface WebhooksConfig {
  /** http:// targets allowed (otherwise https only). */
  allowInsecure: boolean;
  /** Private, loopback, link-local and CGNAT targets allowed (local development, tests). */
  allowPrivate: boolean;
  timeoutMs: number;
  /** Delays after the 1st, 2nd, ... failed attempt, in ms. */
  retryScheduleMs: number[];
  /** An endpoint failing continuously for this long is disabled. */
  disableAfterMs: number;
  concurrency: number;
}

/** Prices in USD per million tokens, for the usage report. MODEL_PRICES overrides and extends them. */
export const DEFAULT_MODEL_PRICES: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
};

export interface AiConfig {
  /** undefined: the offline provider (local embeddings, extractive answers). */
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  llmModel: string;
  embeddingModel: string;
  transcriptionModel: string;
  timeoutMs: number;
  maxRetries: number;
  minConfidence: number;
  handoffKeywords: string[];
  handoffMessage: string;
  voiceNoteReply: string;
  concurrency: number;
  historyTokens: number;
  knowledgeGapThreshold: number;
  prices: Record<string, { input: number; output: number }>;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p.variable} ${p.message}`).join('\n')}\n` +
        'Fix the environment variables above and start again (see the configuration table in README.md).',
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses an environment (process.env by default). Throws ConfigError whose message names every
 * bad variable and what is wrong with it, never its value (values may be secrets).
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Only the variables we know are parsed; the rest of the environment is none of our business.
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape ?? {})) picked[key] = source[key];
  const result = envSchema.safeParse(picked);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? 'environment'),
        message: issue.code === 'invalid_type' ? 'has the wrong type' : issue.message,
      })),
    );
  }
  const env = result.data;
  const single =
    env.WHATSAPP_PHONE_NUMBER_ID &&
    env.WHATSAPP_WABA_ID &&
    env.WHATSAPP_ACCESS_TOKEN &&
    env.WHATSAPP_APP_SECRET &&
    env.WHATSAPP_VERIFY_TOKEN
      ? {
          phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID,
          wabaId: env.WHATSAPP_WABA_ID,
          displayNumber: env.WHATSAPP_DISPLAY_NUMBER,
          accessToken: env.WHATSAPP_ACCESS_TOKEN,
          appSecret: env.WHATSAPP_APP_SECRET,
          verifyToken: env.WHATSAPP_VERIFY_TOKEN,
          mps: env.WHATSAPP_MPS,
        }
      : undefined;
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    demoSeed: env.DEMO_SEED,
    role: env.ROLE,
    dataDir: path.resolve(env.DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databaseHousekeeping: env.DATABASE_HOUSEKEEPING,
    embeddedDatabaseThread: env.EMBEDDED_DATABASE_THREAD,
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisAutostart: env.REDIS_AUTOSTART,
    queuePrefix: env.QUEUE_PREFIX,
    masterKey: env.MASTER_KEY,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    agentDebounceMs: env.AGENT_DEBOUNCE_MS,
    rateLimits: { requestsPerMinute: env.RATE_LIMIT_PER_MINUTE, sendsPerMinute: env.RATE_LIMIT_SENDS_PER_MINUTE },
    trustProxy: env.TRUST_PROXY,
    ingressFailuresPerMinute: env.WEBHOOK_INGRESS_FAILURES_PER_MINUTE,
    humanIdleTimeoutMs: env.HUMAN_IDLE_TIMEOUT,
    sseHeartbeatMs: env.SSE_HEARTBEAT_MS,
    eventDispatchIntervalMs: env.EVENT_DISPATCH_INTERVAL_MS,
    templateSyncIntervalMs: env.TEMPLATE_SYNC_INTERVAL_MS,
    supabase:
      env.SUPABASE_URL && env.SUPABASE_SERVICE_ROLE_KEY
        ? { url: env.SUPABASE_URL, serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY, bucket: env.SUPABASE_STORAGE_BUCKET }
        : undefined,
    readReceipts: env.READ_RECEIPTS,
    whatsapp: {
      graphUrl: env.WHATSAPP_GRAPH_URL ?? 'https://graph.facebook.com',
      apiVersion: env.WHATSAPP_API_VERSION,
      singleNumber: single,
    },
    adminApiKey: env.ADMIN_API_KEY,
    sandbox: { enabled: env.SANDBOX_ENABLED, gatewayUrl: env.SANDBOX_GATEWAY_URL, statusDelaysMs: env.SANDBOX_STATUS_DELAYS },
    webhooks: {
      allowInsecure: env.ALLOW_INSECURE_WEBHOOKS,
      allowPrivate: env.ALLOW_PRIVATE_WEBHOOK_URLS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: env.WEBHOOK_RETRY_SCHEDULE,
      disableAfterMs: env.WEBHOOK_DISABLE_AFTER,
      concurrency: env.WEBHOOK_CONCURRENCY,
    },
    ai: {
      openaiApiKey: env.OPENAI_API_KEY,
      openaiBaseUrl: env.OPENAI_BASE_URL,
      llmModel: env.LLM_MODEL,
      embeddingModel: env.EMBEDDING_MODEL,
      transcriptionModel: env.TRANSCRIPTION_MODEL,
      timeoutMs: env.LLM_TIMEOUT_MS,
      maxRetries: env.LLM_MAX_RETRIES,
      minConfidence: env.AGENT_MIN_CONFIDENCE,
      handoffKeywords: env.AGENT_HANDOFF_KEYWORDS,
      handoffMessage: env.AGENT_HANDOFF_MESSAGE,
      voiceNoteReply: env.AGENT_VOICE_NOTE_REPLY,
      concurrency: env.AGENT_CONCURRENCY,
      historyTokens: env.AGENT_HISTORY_TOKENS,
      knowledgeGapThreshold: env.KNOWLEDGE_GAP_THRESHOLD,
      prices: { ...DEFAULT_MODEL_PRICES, ...env.MODEL_PRICES },
    },
  };
}
