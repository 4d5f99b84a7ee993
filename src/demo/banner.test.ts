import { bannerBaseUrl, formatBanner } from './banner';

const KEY = 'gw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const demo = { workspaceId: 'ws_01', workspaceName: 'Bean There Coffee', documents: 20, template: 'order_ready', displayNumber: '+1 555 010 4242', apiKey: KEY };

describe('start banner', () => {
  it('with the demo: the sandbox link carries the key in the fragment, and the key is shown with its warning', () => {
    const text = formatBanner({ baseUrl: 'http://localhost:3000', demo });
    expect(text).toContain(`http://localhost:3000/sandbox#key=${KEY}\n`);
    expect(text).toContain('http://localhost:3000/console\n');
    expect(text).toContain('http://localhost:3000/docs\n');
    expect(text).toMatch(new RegExp(`Admin API key \\(every scope\\) +${KEY}\\n.*will not be shown again`));
    expect(text).toContain('key:create --workspace ws_01');
    expect(text.split('\n').filter((l) => l.includes(KEY))).toHaveLength(2);
  });

  it('without the demo: the links only, no key', () => {
    const text = formatBanner({ baseUrl: 'http://localhost:3000' });
    expect(text).toContain('http://localhost:3000/sandbox\n');
    expect(text).not.toMatch(/gw_live_|key/i);
  });

  it('names localhost for wildcard and loopback hosts, the host otherwise', () => {
    expect(bannerBaseUrl('0.0.0.0', 3000)).toBe('http://localhost:3000');
    expect(bannerBaseUrl('::', 8080)).toBe('http://localhost:8080');
    expect(bannerBaseUrl('127.0.0.1', 1)).toBe('http://localhost:1');
    expect(bannerBaseUrl('192.168.1.20', 3000)).toBe('http://192.168.1.20:3000');
    expect(bannerBaseUrl('fd00::1', 3000)).toBe('http://[fd00::1]:3000');
  });
});
