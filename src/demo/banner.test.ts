import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bannerBaseUrl, DEMO_KEY_FILE, formatBanner, writeDemoKeyFile } from './banner';

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

describe('the demo key when stdout is not a terminal', () => {
  it('the banner names the file, not the key; the sandbox link carries no key', () => {
    const text = formatBanner({ baseUrl: 'http://localhost:3000', demo, keyFile: '/data/demo-admin-key' });
    expect(text).not.toContain(KEY);
    expect(text).toContain('http://localhost:3000/sandbox\n');
    expect(text).toMatch(/Admin API key \(every scope\) +in \/data\/demo-admin-key \(readable by this user only\)\n.*not a terminal/);
    expect(text).toContain('key:create --workspace ws_01');
  });

  it('writes the key to DATA_DIR/demo-admin-key, mode 0600, also over an older file with looser permissions', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-banner-'));
    try {
      fs.writeFileSync(path.join(dir, DEMO_KEY_FILE), 'old\n', { mode: 0o644 });
      const file = writeDemoKeyFile(dir, KEY);
      expect(file).toBe(path.join(dir, 'demo-admin-key'));
      expect(fs.readFileSync(file, 'utf8')).toBe(`${KEY}\n`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const fresh = writeDemoKeyFile(path.join(dir, 'new'), KEY);
      expect(fs.statSync(fresh).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
