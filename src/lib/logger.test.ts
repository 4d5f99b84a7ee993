import { ConfigError, loadConfig } from '../config/env';
import { createLogger, resolveLogFormat, type LogFormat } from './logger';

const KEY = 'gw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';

/** A destination that records each write as it happens. */
function capture() {
  const writes: string[] = [];
  return { writes, destination: { write: (s: string) => void writes.push(s) } };
}

function logOnce(format: LogFormat) {
  const { writes, destination } = capture();
  const logger = createLogger({ level: 'info', format, destination });
  logger.info({ conversation_id: 'conv_123', apiKey: KEY }, 'reply queued');
  const afterInfo = writes.length;
  logger.error({ err: new Error(`upstream refused ${KEY}`) }, 'send failed');
  return { writes, afterInfo, text: writes.join('') };
}

describe('log format', () => {
  it('auto is pretty on a terminal and JSON anywhere else; pretty and json are forced either way', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('json', false)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
    expect(resolveLogFormat('pretty', true)).toBe('pretty');
  });

  it('LOG_FORMAT defaults to auto and rejects other values by name', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'fancy' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_FORMAT: 'fancy' })).toThrow(/LOG_FORMAT must be auto, pretty or json/);
  });

  it('pretty: one readable line per entry, written before the call returns (nothing left to flush at exit)', () => {
    const { writes, afterInfo, text } = logOnce('pretty');
    expect(afterInfo).toBe(1);
    expect(writes).toHaveLength(2);
    expect(writes[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: reply queued\n/);
    expect(writes[0]).toContain('conversation_id: "conv_123"');
    expect(writes[1]).toMatch(/ERROR: send failed/);
    expect(() => JSON.parse(writes[0] ?? '')).toThrow();
    // No colour codes when the destination is not the terminal.
    expect(text).not.toContain('\u001b[');
  });

  it('pretty and JSON redact the same secrets', () => {
    for (const format of ['pretty', 'json'] as const) {
      const { text } = logOnce(format);
      expect(text).not.toContain(KEY);
      expect(text).toContain('[REDACTED]');
      expect(text).toContain('upstream refused gw_live_[REDACTED]');
    }
  });

  it('json: one JSON object a line, as before', () => {
    const { writes } = logOnce('json');
    const first = JSON.parse(writes[0] ?? '') as Record<string, unknown>;
    expect(first).toMatchObject({ level: 30, msg: 'reply queued', conversation_id: 'conv_123', apiKey: '[REDACTED]', service: 'wa-agent-gateway' });
  });

  it('flush() answers at once in pretty mode', async () => {
    const { destination } = capture();
    const logger = createLogger({ level: 'info', format: 'pretty', destination });
    await expect(new Promise<void>((resolve) => logger.flush(() => resolve()))).resolves.toBeUndefined();
  });
});
