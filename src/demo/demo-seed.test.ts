import { loadConfig } from '../config/env';
import { demoSeedSkipReason } from './demo-seed';

describe('when the demo is seeded', () => {
  it('only with the embedded database and nothing configured, unless DEMO_SEED=off', () => {
    expect(loadConfig({}).demoSeed).toBe('auto');
    expect(demoSeedSkipReason(loadConfig({}))).toBeNull();
    expect(demoSeedSkipReason(loadConfig({ DEMO_SEED: 'off' }))).toBe('DEMO_SEED=off');
    expect(demoSeedSkipReason(loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' }))).toMatch(/DATABASE_URL/);
    expect(demoSeedSkipReason(loadConfig({ ADMIN_API_KEY: `gw_live_${'a'.repeat(40)}` }))).toMatch(/ADMIN_API_KEY/);
    const whatsapp = {
      WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
      WHATSAPP_WABA_ID: '102290129340398',
      WHATSAPP_ACCESS_TOKEN: 'EAAG-token',
      WHATSAPP_APP_SECRET: 'app-secret',
      WHATSAPP_VERIFY_TOKEN: 'verify',
    };
    expect(demoSeedSkipReason(loadConfig(whatsapp))).toMatch(/WHATSAPP_/);
  });

  it('DEMO_SEED accepts auto or off and names itself otherwise', () => {
    expect(() => loadConfig({ DEMO_SEED: 'yes' })).toThrow(/DEMO_SEED must be auto or off/);
  });
});
