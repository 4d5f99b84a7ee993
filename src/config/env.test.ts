import { ConfigError, loadConfig } from './env';

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs with no environment at all, on documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.role).toBe('all');
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir.endsWith('.data')).toBe(true);
    expect(c.whatsapp).toEqual({ graphUrl: 'https://graph.facebook.com', apiVersion: 'v23.0', singleNumber: undefined });
    expect(c.masterKey).toBeUndefined();
  });

  it('names the variable and the problem, never the value', () => {
    const message = problems({ PORT: 'eighty-secret', ROLE: 'boss-secret', REDIS_URL: 'http://x-secret' });
    expect(message).toMatch(/PORT must be an integer from 0 to 65535/);
    expect(message).toMatch(/ROLE must be all, api or worker/);
    expect(message).toMatch(/REDIS_URL must use redis: or rediss:/);
    expect(message).not.toMatch(/secret/);
  });

  it('refuses a malformed MASTER_KEY without echoing it', () => {
    const message = problems({ MASTER_KEY: 'tooshort-hunter2' });
    expect(message).toMatch(/MASTER_KEY must be 32 bytes/);
    expect(message).not.toContain('hunter2');
  });

  it('accepts MASTER_KEY as hex or base64', () => {
    const hex = 'ab'.repeat(32);
    expect(loadConfig({ MASTER_KEY: hex }).masterKey?.toString('hex')).toBe(hex);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ MASTER_KEY: b64 }).masterKey?.equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it('refuses production without MASTER_KEY', () => {
    expect(problems({ NODE_ENV: 'production' })).toMatch(/MASTER_KEY is required when NODE_ENV=production/);
  });

  it('requires the whole single-number set once any of it is given', () => {
    const message = problems({ WHATSAPP_PHONE_NUMBER_ID: '123', WHATSAPP_ACCESS_TOKEN: 'EAAG-secret-token' });
    expect(message).toMatch(/WHATSAPP_WABA_ID is required when WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_ACCESS_TOKEN are set/);
    expect(message).toMatch(/WHATSAPP_APP_SECRET is required/);
    expect(message).toMatch(/WHATSAPP_VERIFY_TOKEN is required/);
    expect(message).not.toContain('EAAG-secret-token');
  });

  it('builds the single-number config when complete', () => {
    const c = loadConfig({
      WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
      WHATSAPP_WABA_ID: '102290129340398',
      WHATSAPP_ACCESS_TOKEN: 'tok',
      WHATSAPP_APP_SECRET: 'sec',
      WHATSAPP_VERIFY_TOKEN: 'ver',
      WHATSAPP_MPS: '250',
    });
    expect(c.whatsapp.singleNumber).toMatchObject({ phoneNumberId: '106540352242922', mps: 250 });
  });

  it('checks ADMIN_API_KEY format without echoing it', () => {
    const message = problems({ ADMIN_API_KEY: 'gw_live_short-hunter2' });
    expect(message).toMatch(/ADMIN_API_KEY must be gw_live_ followed by at least 32/);
    expect(message).not.toContain('hunter2');
    expect(loadConfig({ ADMIN_API_KEY: `gw_live_${'a'.repeat(32)}` }).adminApiKey).toBe(`gw_live_${'a'.repeat(32)}`);
  });

  it('rejects out-of-range numbers and bad enums', () => {
    expect(problems({ WHATSAPP_MPS: '1001' })).toMatch(/WHATSAPP_MPS must be an integer from 1 to 1000/);
    expect(problems({ LOG_LEVEL: 'loud' })).toMatch(/LOG_LEVEL must be one of/);
    expect(problems({ WHATSAPP_API_VERSION: '23' })).toMatch(/WHATSAPP_API_VERSION must look like v23.0/);
    expect(problems({ DATABASE_URL: 'mysql://x' })).toMatch(/DATABASE_URL must use postgres: or postgresql:/);
    expect(problems({ QUEUE_PREFIX: 'a:b' })).toMatch(/QUEUE_PREFIX must be 1-64 letters/);
  });
});
