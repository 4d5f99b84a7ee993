import pino from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';

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

/** `pretty`: readable lines for a person at a terminal; `json`: one JSON object a line. */
export type LogFormat = 'pretty' | 'json';

/** LOG_FORMAT: `auto` is pretty when stdout is a terminal and JSON otherwise (files, pipes, collectors). */
export function resolveLogFormat(setting: LogFormat | 'auto', stdoutIsTty: boolean): LogFormat {
  return setting === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : setting;
}

export interface LoggerOptions {
  level: string;
  /** Where the lines go; stdout by default. Tests pass a stream to read the logs back. */
  destination?: pino.DestinationStream;
  /** Default json. */
  format?: LogFormat;
  base?: Record<string, unknown>;
}

/**
 * pino-pretty on the main thread, line by line, writing synchronously: pino's transport would
 * run it in a worker thread, whose last lines can be lost when the process exits, and
 * logger.flush() would not wait for them. The line is formatted from the JSON pino produced,
 * so redaction and scrubbing apply as in JSON mode. Pretty logs are for people watching a
 * terminal, where synchronous writes cost nothing that matters.
 */
function prettyDestination(target: pino.DestinationStream, colorize: boolean): pino.DestinationStream {
  const format = prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
  return {
    write(line: string) {
      target.write(format(line));
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.format === 'pretty'
      ? prettyDestination(options.destination ?? pino.destination({ dest: 1, sync: true }), options.destination ? false : isColorSupported)
      : (options.destination ?? pino.destination({ sync: false }));
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
    destination,
  );
}
