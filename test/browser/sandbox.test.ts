import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Express } from 'express';
import { type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS, browserDescribe, launchChromium, requireChromium, type LaunchedBrowser } from '../support/browser';
import request from 'supertest';
import { SCOPES } from '../../src/domain/keys/scopes';
import { createTestRuntime, type TestRuntime } from '../support/runtime';
import { waitFor } from '../support/wait';

/**
 * The /sandbox page in a real browser (the system's Chromium, driven by playwright-core) against
 * the real gateway with its built-in Cloud API simulator: two customers chat with the business
 * (text, a photo, a location, a tap on a reply button), their messages go through the real ingress
 * and the agent's and the API's answers come back through the simulator with live ticks; a person
 * takes one chat over and the customer sees it. Screenshots go to test/artifacts/.
 */
const describeBrowser = browserDescribe('sandbox');

async function eventually(what: string, fn: () => Promise<void> | void, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A real PNG (a small two-colour picture), so that the browser shows it and the media job checks real bytes. */
function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set(x < width / 2 ? [0, 128, 105] : [255, 176, 59], 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

describeBrowser('the /sandbox customer chat page in a browser', () => {
  let rt: TestRuntime;
  let server: http.Server;
  let base: string;
  let key: string;
  let context: BrowserContext;
  let page: Page;
  let browser: LaunchedBrowser | undefined;
  let workspaceId: string;
  const pageErrors: string[] = [];
  const pnid = `11${Date.now().toString().slice(-10)}`;
  const ana = '447700900101';
  const ben = '447700900102';
  const hostileName = '<img src=x onerror="window.__pwned=1">Ben';
  const photo = png(96, 64);

  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await rt.db.pool.query(sql, params)).rows as T[];
  const customer = (waId: string) => page.locator(`#customer-list button[data-wa-id="${waId}"]`);
  const bubbles = (from: 'customer' | 'business') => page.locator(`#chat li.bubble[data-from="${from}"]`);
  const conversationOf = async (waId: string) =>
    (await rows<{ id: string; mode: string }>('select v.id, v.mode from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]))[0];

  async function addCustomer(name: string, number: string) {
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('WhatsApp number').fill(number);
    await page.getByRole('button', { name: 'Add customer' }).click();
    await customer(number.replace(/\D/g, '')).waitFor();
    await eventually('the chat open', async () => expect(await page.locator('#chat-sub').textContent()).toContain(number.replace(/\D/g, '')));
  }

  beforeAll(async () => {
    requireChromium();
    rt = await createTestRuntime({
      env: { WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9', AGENT_DEBOUNCE_MS: '150', READ_RECEIPTS: 'on_answer', SANDBOX_STATUS_DELAYS: '150ms,400ms,800ms' },
      workers: true,
    });
    const ws = await rt.services.tenancy.createWorkspace({ name: 'Corner Coffee' });
    workspaceId = ws.id;
    await rt.services.tenancy.addNumber({
      workspaceId,
      phoneNumberId: pnid,
      wabaId: `21${Date.now().toString().slice(-10)}`,
      displayNumber: '+1 555 010 7777',
      accessToken: `EAAG${randomBytes(10).toString('hex')}`,
      appSecret: randomBytes(16).toString('hex'),
      verifyToken: randomBytes(8).toString('hex'),
      sandbox: true,
      source: 'cli',
    });
    await rt.runWorkers();
    // A test key, as the zero-config start prints it.
    key = (await rt.services.apiKeys.create({ workspaceId, name: 'sandbox', scopes: [...SCOPES], mode: 'test', source: 'cli' })).plaintext;
    await request(rt.app as Express)
      .post('/v1/knowledge')
      .set('Authorization', `Bearer ${key}`)
      .send({ title: 'Milk', content: 'We have oat milk, almond milk and soy milk at no extra cost.' })
      .expect(202);

    server = http.createServer(rt.app as Express);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    rt.listening('127.0.0.1', port);

    browser = await launchChromium('sandbox', { viewport: { width: 1280, height: 900 } });
    context = browser.context;
    context.setDefaultTimeout(15_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // A refused key (401) and a refused tap (400) are part of the story.
      if (m.type() === 'error' && !/status of (400|401)\b/.test(m.text())) pageErrors.push(m.text());
    });
    page.on('dialog', (d) => void d.dismiss());
  }, 90_000);

  afterAll(async () => {
    if (process.env.DEBUG_SANDBOX) console.log(rt?.logs.lines().filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l)).join('\n'));
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await rt?.teardown();
  }, 60_000);

  it('is served with a strict Content-Security-Policy and refuses a wrong key', async () => {
    const res = await request(base).get('/sandbox').expect(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.goto(`${base}/sandbox`);
    await page.getByLabel('API key').fill('gw_test_not_a_real_key');
    await page.getByRole('button', { name: 'Open' }).click();
    await eventually('the refusal', async () => expect(await page.locator('#signin-error').textContent()).toMatch(/not accepted/));
  }, 30_000);

  it('opens from the start banner link (#key=...), which then leaves the address bar', async () => {
    await page.goto(`${base}/sandbox#key=${encodeURIComponent(key)}`);
    await page.locator('#sandbox').waitFor({ state: 'visible' });
    await eventually('the live stream', async () => expect(await page.locator('#connection-text').textContent()).toBe('Live'));
    expect(page.url()).toBe(`${base}/sandbox`);
    expect(await page.evaluate<string | null>("sessionStorage.getItem('sandbox.apiKey')")).toBe(key);
  }, 30_000);

  it('a customer writes; the message goes through the ingress, the agent answers through the simulator, ticks move', async () => {
    await addCustomer('Ana', '+44 7700 900101');
    await page.getByRole('textbox', { name: 'Message' }).fill('Hello! Do you have oat milk?');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const mine = bubbles('customer').filter({ hasText: 'Do you have oat milk?' });
    await eventually('delivered to the gateway', async () => expect(await mine.locator('.ticks').getAttribute('data-status')).toMatch(/delivered|read/));
    const [received] = await rows<{ type: string }>("select e.type from events e where e.type = 'message.received' and e.data->'contact'->>'wa_id' = $1", [ana]);
    expect(received?.type).toBe('message.received');
    // The offline agent answers (a quote from the knowledge base, or a handoff): a business bubble.
    const answer = bubbles('business').first();
    await answer.waitFor({ timeout: 20_000 });
    // Its ticks follow the statuses the gateway accepted; the question turns blue when the agent read it.
    await eventually('the answer read', async () => expect(await answer.locator('.ticks').getAttribute('data-status')).toBe('read'), 20_000);
    await eventually('the question read', async () => expect(await mine.locator('.ticks').getAttribute('data-status')).toBe('read'), 20_000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'sandbox-chat.png') });
  }, 60_000);

  it('a second customer sends a photo and a location, then taps a reply button the business offered', async () => {
    await addCustomer(hostileName, '+44 7700 900102');
    expect(await page.locator('#customer-list img').count()).toBe(0);
    expect(await page.evaluate<number | undefined>('window.__pwned')).toBeUndefined();

    await page.getByRole('textbox', { name: 'Message' }).fill('This one, please');
    await page.locator('#photo').setInputFiles({ name: 'cake.png', mimeType: 'image/png', buffer: photo });
    const picture = bubbles('customer').filter({ has: page.locator('img') });
    await picture.waitFor();
    await eventually('the photo shown from its blob', async () => expect(await picture.locator('img').evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(96));
    expect(await picture.textContent()).toContain('This one, please');
    // The ingress queued the media job, which downloaded the photo through the simulator.
    const stored = await waitFor('the photo stored by the gateway', async () => {
      const r = await rows<{ status: string; size_bytes: string; sha256: string }>(
        'select m.status, m.size_bytes, m.sha256 from media m join messages g on g.id = m.message_id join conversations v on v.id = g.conversation_id join contacts c on c.id = v.contact_id where c.wa_id = $1',
        [ben],
      );
      return r[0]?.status === 'stored' && r[0];
    });
    expect(Number(stored.size_bytes)).toBe(photo.length);
    expect(stored.sha256).toBe(createHash('sha256').update(photo).digest('hex'));

    await page.getByRole('button', { name: 'Share a location' }).click();
    await page.getByLabel('Place name').fill('Corner Coffee');
    await page.getByLabel('Address').fill('1 Strand, London');
    await page.getByRole('button', { name: 'Send location' }).click();
    await bubbles('customer').filter({ hasText: '📍 Corner Coffee' }).waitFor();
    await waitFor('the location stored', async () => (await rows("select 1 from messages where type = 'location' and direction = 'in'")).length === 1);

    // The business offers two buttons (through the API, with the test key): they show up live and are tappable.
    await request(base)
      .post('/v1/messages')
      .set('Authorization', `Bearer ${key}`)
      .send({ to: `+${ben}`, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick up or delivery?' }, action: { buttons: [{ type: 'reply', reply: { id: 'pickup', title: 'Pick up' } }, { type: 'reply', reply: { id: 'delivery', title: 'Delivery' } }] } } })
      .expect(202);
    const offer = bubbles('business').filter({ hasText: 'Pick up or delivery?' });
    await offer.waitFor();
    await offer.getByRole('button', { name: 'Pick up' }).click();
    await bubbles('customer').filter({ hasText: '↩' }).or(bubbles('customer').filter({ hasText: 'Pick up' })).first().waitFor();
    const [reply] = await waitFor('the button reply stored', async () => {
      const r = await rows<{ content: Record<string, unknown>; reply_to_wamid: string | null }>("select content, reply_to_wamid from messages where direction = 'in' and type = 'interactive'");
      return r.length > 0 && r;
    });
    expect(JSON.stringify(reply?.content)).toContain('pickup');
    expect(reply?.reply_to_wamid).toMatch(/^wamid\./);
    await eventually('the offer read', async () => expect(await offer.locator('.ticks').getAttribute('data-status')).toBe('read'), 20_000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'sandbox-media.png') });
  }, 90_000);

  it('several customers at once: the other chat counts unread replies; a takeover and a handback show as notes', async () => {
    // While Ben's chat is open, a person from the business takes Ana's conversation over and writes.
    const conversation = await conversationOf(ana);
    await request(base).post(`/v1/conversations/${conversation?.id}/takeover`).set('Authorization', `Bearer ${key}`).send({ agent: { id: 'agt_maria', name: 'Maria' }, force: true }).expect(200);
    await request(base)
      .post(`/v1/conversations/${conversation?.id}/reply`)
      .set('Authorization', `Bearer ${key}`)
      .send({ type: 'text', text: { body: 'Hi Ana, Maria here. Oat milk it is!' }, agent: { id: 'agt_maria', name: 'Maria' } })
      .expect(202);
    await eventually("Ana's unread count", async () => expect(Number(await customer(ana).locator('.unread').textContent())).toBeGreaterThanOrEqual(1));
    expect(await customer(ana).locator('.badge').textContent()).toBe('Person');

    await customer(ana).click();
    await bubbles('business').filter({ hasText: 'Maria here' }).waitFor();
    expect(await page.locator('#mode-note').textContent()).toContain('Maria from the business is handling this chat');
    expect(await customer(ana).locator('.unread').count()).toBe(0);

    // Notes appear live in the open chat.
    await request(base).post(`/v1/conversations/${conversation?.id}/handback`).set('Authorization', `Bearer ${key}`).send({ agent: { id: 'agt_maria', name: 'Maria' } }).expect(200);
    await page.locator('#chat .system-note', { hasText: 'The automated assistant is back' }).waitFor();
    expect(await page.locator('#mode-note').isHidden()).toBe(true);
    await request(base).post(`/v1/conversations/${conversation?.id}/takeover`).set('Authorization', `Bearer ${key}`).send({ agent: { id: 'agt_sam', name: 'Sam' } }).expect(200);
    await page.locator('#chat .system-note', { hasText: 'Sam from the business has taken over this chat.' }).waitFor();
    expect(await page.locator('#mode-note').textContent()).toContain('Sam from the business is handling this chat');
    await page.screenshot({ path: path.join(ARTIFACTS, 'sandbox-takeover.png') });
  }, 60_000);

  it('refuses a tap on something the business never offered, and says so', async () => {
    // The page's own origin and key, but a forged reply: the sandbox API refuses it.
    const res = await page.evaluate<{ status: number; body: unknown }>(`(async () => {
      const token = sessionStorage.getItem('sandbox.apiKey');
      const r = await fetch('/sandbox/api/numbers/${pnid}/customers/${ana}/messages', {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'button_reply', reply_to: 'wamid.forged', id: 'free-coffee' }),
      });
      return { status: r.status, body: await r.json() };
    })()`);
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'not_offered' } } });
  });

  it('is usable on a 360 px wide phone: the list or the chat, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${base}/sandbox`);
    await customer(ana).waitFor();
    // After a reload the list still shows each chat's last message.
    expect(await customer(ana).locator('.customer-preview').textContent()).toContain('Oat milk it is!');
    expect(await page.locator('#phone').isHidden()).toBe(true);
    await customer(ana).click();
    await bubbles('business').first().waitFor();
    expect(await page.locator('.customers').isHidden()).toBe(true);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.screenshot({ path: path.join(ARTIFACTS, 'sandbox-mobile.png') });
    await page.getByRole('button', { name: 'Back to the customers' }).click();
    await customer(ben).waitFor();
  }, 30_000);

  it('logged no script errors and no Content-Security-Policy violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
