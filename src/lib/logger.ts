import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Paths pino censors wherever they appear. Request bodies are never logged; these cover headers,
 * errors and the objects we log ourselves.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.Authorization',
  'config.headers.Authorization',
  'config.headers.authorization',
  '*.authorization',
  '*.Authorization',
  '*.accessToken',
  '*.access_token',
  '*.appSecret',
  '*.app_secret',
  '*.verifyToken',
  '*.verify_token',
  '*.secret',
  '*.apiKey',
  '*.api_key',
  '*.key',
  '*.token',
  '*.password',
  'accessToken',
  'appSecret',
  'verifyToken',
  'secret',
  'apiKey',
  'token',
  'password',
];

const SECRET_PATTERNS: [RegExp, string][] = [
  [/gw_(live|test)_[A-Za-z0-9_-]+/g, 'gw_$1_[REDACTED]'],
  [/whsec_[A-Za-z0-9+/=_-]+/g, 'whsec_[REDACTED]'],
  [/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [REDACTED]'],
];

/** Scrubs key-shaped strings out of free text (error messages, URLs) before it is logged. */
export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((acc, [re, sub]) => acc.replace(re, sub), text);
}

/** Phone numbers in logs show only their last four digits. */
export function maskPhone(phone: string | null | undefined): string | undefined {
  if (!phone) return undefined;
  const digits = phone.replace(/\D/g, '');
  return digits.length <= 4 ? '****' : `***${digits.slice(-4)}`;
}

export interface LoggerOptions {
  level: string;
  /** Where JSON lines go; stdout by default. Tests pass a stream to read the logs back. */
  destination?: pino.DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? { service: 'wa-agent-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: {
        err: (err: unknown) => {
          const out = pino.stdSerializers.err(err as Error);
          if (out && typeof out.message === 'string') out.message = scrubSecrets(out.message);
          if (out && typeof out.stack === 'string') out.stack = scrubSecrets(out.stack);
          return out;
        },
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
