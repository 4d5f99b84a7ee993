import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type Page, type Request } from 'playwright-core';
import { ARTIFACTS, browserDescribe, launchChromium, requireChromium, type LaunchedBrowser } from '../support/browser';
import { DEMO_AGENT_SETTINGS } from '../../src/demo/coffee-shop';
import { DEMO_DOCUMENTS } from '../../src/demo/coffee-shop.knowledge';
import { startGateway, type Gateway } from '../support/processes';
import { deleteRedisPrefix, REDIS_URL } from '../support/runtime';
import { waitFor } from '../support/wait';

/**
 * The zero-config promise, end to end, in a real browser (the system's Chromium, driven by
 * playwright-core): a first `npm start` (tsx src/main.ts) on a fresh data directory with only Redis
 * running, nothing configured. Its stdout is not a terminal here, so the banner names the file
 * that holds the demo's admin key (at a terminal it prints the key and a /sandbox link carrying
 * it: test/integration/demo.test.ts, and test/browser/sandbox.test.ts opens such a link). The
 * banner's /sandbox link opens the customer page, signed in with that key; a customer asks the
 * demo coffee shop a question and the offline agent answers from the knowledge base within 3 s;
 * the customer asks for a person and the chat is handed off; the agent console, signed in with
 * the same key, takes the chat over and replies, and the reply shows up in /sandbox. Screenshots
 * go to test/artifacts/zero-config-*.png.
 */
const describeBrowser = browserDescribe('zero-config');

/** The promise of the zero-config issue: the answer is on the customer's screen within 3 s of sending. */
const ANSWER_BUDGET_MS = 3_000;

async function eventually(what: string, fn: () => Promise<void> | void, timeoutMs = 10_000): Promise<void> {
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

/** What the pages record about themselves (installed before any page script runs). */
const RECORDER = `(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  // The moment of the click on the sandbox's Send button, in the page's own clock.
  document.addEventListener('click', (e) => {
    if (e.target instanceof Element && e.target.closest('#send')) window.__sendClickedAt = performance.now();
  }, true);
})();`;

describeBrowser('zero config: a first npm start, /sandbox and /console in a browser', () => {
  // Made in beforeAll: a skipped describe still runs this body.
  let dataDir = '';
  const prefix = `z${randomBytes(5).toString('hex')}`;
  let gw: Gateway | undefined;
  let context: BrowserContext | undefined;
  let browser: LaunchedBrowser | undefined;
  let sandbox: Page;
  let consolePage: Page;
  let links: { sandbox: string; console: string; key: string };
  const pageErrors: string[] = [];
  const requests: Request[] = [];
  const failed: string[] = [];
  const remote: Promise<string>[] = [];

  const customer = { name: 'Nora Newcomer', number: '+44 7700 900555', waId: '447700900555' };
  const question = 'What time do you open on Sundays?';
  const hours = DEMO_DOCUMENTS.find((d) => d.slug === 'hours');
  // A sentence only the "Opening hours" document has: the answer must quote it.
  const hoursSentence = 'Saturday and Sunday from 8:00 to 17:00';
  const reply = `Hi Nora, Maria from Bean There here (${randomBytes(3).toString('hex')}). We open at 8:00 on Sundays!`;

  const bubbles = (from: 'customer' | 'business') => sandbox.locator(`#chat li.bubble[data-from="${from}"]`);
  const shot = (name: string, page: Page = sandbox) => page.screenshot({ path: path.join(ARTIFACTS, `zero-config-${name}.png`) });
  const api = async (route: string) => {
    const res = await fetch(`${gw!.url}${route}`, { headers: { Authorization: `Bearer ${links.key}` } });
    return { status: res.status, body: (await res.json()) as { data?: unknown[] } };
  };

  beforeAll(async () => {
    requireChromium();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-zero-config-'));
    // What `npm start` runs, with nothing configured: no DATABASE_URL, no WHATSAPP_*, no
    // ADMIN_API_KEY; only where Redis is, a private key prefix, a free port on loopback.
    gw = await startGateway({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', QUEUE_PREFIX: prefix, REDIS_URL }, 45_000);

    browser = await launchChromium('zero-config', { viewport: { width: 1280, height: 860 } });
    context = browser.context;
    context.setDefaultTimeout(10_000);
    await context.addInitScript(RECORDER);
    context.on('request', (r) => requests.push(r));
    context.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    context.on('response', (r) => remote.push(r.serverAddr().then(
      (a) => `${a?.ipAddress ?? 'no address'} ${r.url()}`,
      (e: Error) => `no address (${e.message}) ${r.url()}`,
    )));
    const watch = (page: Page, name: string) => {
      page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(`${name}: ${m.text()}`);
      });
      page.on('dialog', (d) => {
        pageErrors.push(`${name}: dialog ${d.message()}`);
        void d.dismiss();
      });
    };
    sandbox = context.pages()[0] ?? (await context.newPage());
    watch(sandbox, '/sandbox');
    consolePage = await context.newPage();
    watch(consolePage, '/console');
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    // The last test stops the gateway; if it never got there, the stop here must be clean too.
    let exitCode: number | null | undefined;
    if (gw && gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill('SIGTERM');
      const timer = setTimeout(() => gw?.child.kill('SIGKILL'), 20_000);
      exitCode = await gw.exit;
      clearTimeout(timer);
    }
    await deleteRedisPrefix(prefix);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DEBUG_ZERO_CONFIG && gw) console.log(gw.output());
    if (exitCode !== undefined && exitCode !== 0) throw new Error(`the gateway exited with ${exitCode} on SIGTERM:\n${gw?.output().slice(-4000)}`);
  }, 60_000);

  it('the first start prints the banner with the links and the file holding the key, and indexes the demo knowledge base', async () => {
    const started = Date.now();
    const output = await waitFor('the banner', () => (/Admin API key/.test(gw!.output()) ? gw!.output() : undefined), 30_000);
    const keyFile = /Admin API key \(every scope\)\s+in (\S+) \(readable by this user only\)\n/.exec(output)?.[1] ?? '';
    expect(keyFile).toBe(path.join(dataDir, 'demo-admin-key'));
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    const sandboxLink = /Sandbox \(chat as a customer\)\s+(http:\/\/\S+)\n/.exec(output)?.[1] ?? '';
    const consoleLink = /Agent console\s+(http:\/\/\S+)\n/.exec(output)?.[1] ?? '';
    expect(key).toMatch(/^gw_live_[A-Za-z0-9_-]{32,}$/);
    expect(sandboxLink).toBe(`http://localhost:${gw!.port}/sandbox`);
    expect(consoleLink).toBe(`http://localhost:${gw!.port}/console`);
    expect(output).toContain('Demo workspace "Bean There Coffee" is ready: 20 knowledge documents');
    links = { sandbox: sandboxLink, console: consoleLink, key };
    // The documents are indexed in the background; a newcomer reads the banner meanwhile.
    await waitFor('the 20 demo documents indexed', async () => (await api('/v1/knowledge?status=ready&limit=200')).body.data?.length === 20, 30_000);
    console.log(`zero-config: all 20 demo documents were indexed ${Date.now() - started} ms after the test saw the gateway listening`);
  }, 60_000);

  it('the banner link opens /sandbox, signed in with the key from the file; a customer asks about opening hours and the offline agent answers from the knowledge base within 3 s', async () => {
    // The tab the person looks at (a background tab gets its animation frames throttled).
    await sandbox.bringToFront();
    await sandbox.goto(links.sandbox);
    await sandbox.getByLabel('API key').fill(links.key);
    await sandbox.getByRole('button', { name: 'Open', exact: true }).click();
    await sandbox.locator('#sandbox').waitFor({ state: 'visible' });
    await eventually('the live stream', async () => expect(await sandbox.locator('#connection-text').textContent()).toBe('Live'));
    await shot('1-sandbox');

    await sandbox.getByLabel('Name', { exact: true }).fill(customer.name);
    await sandbox.getByLabel('WhatsApp number').fill(customer.number);
    await sandbox.getByRole('button', { name: 'Add customer' }).click();
    await sandbox.locator(`#customer-list button[data-wa-id="${customer.waId}"]`).waitFor();
    await eventually('the chat open', async () => expect(await sandbox.locator('#chat-sub').textContent()).toContain(customer.waId));

    await sandbox.getByRole('textbox', { name: 'Message' }).fill(question);
    // Stamp the moment the first business bubble enters the chat, in the page's clock.
    await sandbox.evaluate(`(() => {
      const chat = document.getElementById('chat');
      const observer = new MutationObserver(() => {
        if (chat.querySelector('li.bubble[data-from="business"]')) {
          window.__answeredAt = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(chat, { childList: true, subtree: true });
    })()`);
    const clicked = Date.now();
    await sandbox.getByRole('button', { name: 'Send', exact: true }).click();
    await bubbles('customer').filter({ hasText: question }).waitFor();
    const answer = bubbles('business').first();
    await answer.waitFor({ timeout: 15_000 });
    const seen = Date.now() - clicked;
    const inPage = await sandbox.evaluate<number>('window.__answeredAt - window.__sendClickedAt');
    console.log(`zero-config: the answer bubble appeared ${Math.round(inPage)} ms after the click on Send (in the page's clock); ${seen} ms from the test's click() call to the bubble seen`);

    const text = (await answer.textContent()) ?? '';
    // From the right document: the "Opening hours" one, the only one that says this.
    expect(hours).toBeDefined();
    expect(`${hours!.summary}\n${hours!.details}`).toContain(hoursSentence);
    expect(DEMO_DOCUMENTS.filter((d) => `${d.summary}\n${d.details}`.includes(hoursSentence)).map((d) => d.slug)).toEqual(['hours']);
    expect(text).toContain(hoursSentence);
    expect(text).toContain(`Quoted from "${hours!.title}"`);
    expect(text).not.toContain(DEMO_AGENT_SETTINGS.handoff_message);
    expect(await bubbles('business').count()).toBe(1);
    expect(await sandbox.locator('#mode-note').isHidden()).toBe(true);
    await shot('2-answer');
    expect(inPage).toBeGreaterThan(0);
    expect(inPage).toBeLessThan(ANSWER_BUDGET_MS);
    expect(seen).toBeLessThan(ANSWER_BUDGET_MS);
  }, 45_000);

  it('asking for a person hands the chat off: the handoff notice and the waiting note show in /sandbox', async () => {
    await sandbox.getByRole('textbox', { name: 'Message' }).fill('Can I talk to a person please?');
    await sandbox.getByRole('button', { name: 'Send', exact: true }).click();
    await bubbles('business').filter({ hasText: DEMO_AGENT_SETTINGS.handoff_message }).waitFor({ timeout: 15_000 });
    await sandbox.locator('#chat .system-note', { hasText: 'Waiting for a person from the business…' }).waitFor();
    await eventually('the waiting note', async () => {
      expect(await sandbox.locator('#mode-note').isVisible()).toBe(true);
      expect(await sandbox.locator('#mode-note').textContent()).toBe('Waiting for a person from the business…');
    });
    await shot('3-handoff');
  }, 30_000);

  it('the console, signed in with the banner key, shows the waiting customer; the agent takes over and replies', async () => {
    await consolePage.bringToFront();
    await consolePage.goto(links.console);
    await consolePage.getByLabel('API key').fill(links.key);
    await consolePage.getByLabel('Your name').fill('Maria');
    await consolePage.getByRole('button', { name: 'Connect' }).click();
    await consolePage.locator('#workspace').waitFor({ state: 'visible' });
    await eventually('the live stream', async () => expect(await consolePage.locator('#connection-text').textContent()).toBe('Live'));
    expect(await consolePage.locator('#workspace-name').textContent()).toBe('Workspace: Bean There Coffee');

    const item = consolePage.locator('#conversation-list li', { hasText: customer.name });
    await eventually('the customer waiting for a person', async () => expect(await item.textContent()).toContain('Waiting for a person'));
    await item.getByRole('button').click();
    await eventually('the transcript', async () => expect(await consolePage.locator('#transcript').textContent()).toContain(question));
    expect(await consolePage.locator('#detail-handoff').textContent()).toMatch(/Waiting for a person: .*asked for a person/i);
    expect(await consolePage.locator('#transcript').textContent()).toContain(hoursSentence);
    await shot('4-console-handoff', consolePage);

    await consolePage.getByRole('button', { name: 'Take over', exact: true }).click();
    await eventually('human mode', async () => expect(await consolePage.locator('#detail-badges').textContent()).toContain('Human · Maria'));
    await consolePage.locator('#reply-text').fill(reply);
    await consolePage.getByRole('button', { name: 'Send reply' }).click();
    const mine = consolePage.locator('#transcript li.message-out', { hasText: reply });
    await mine.waitFor();
    await eventually('the reply sent', async () => expect(await mine.getAttribute('data-status')).toMatch(/^(sent|delivered|read)$/), 15_000);
    await shot('5-console-reply', consolePage);
  }, 45_000);

  it("the agent's reply and the takeover show in /sandbox", async () => {
    await sandbox.bringToFront();
    await bubbles('business').filter({ hasText: reply }).waitFor({ timeout: 15_000 });
    await sandbox.locator('#chat .system-note', { hasText: 'Maria from the business has taken over this chat.' }).waitFor();
    await eventually('the handling note', async () => expect(await sandbox.locator('#mode-note').textContent()).toBe('Maria from the business is handling this chat'));
    // Exactly once, after the handoff notice.
    const business = await bubbles('business').allTextContents();
    expect(business.filter((t) => t.includes(reply))).toHaveLength(1);
    expect(business.findIndex((t) => t.includes(reply))).toBeGreaterThan(business.findIndex((t) => t.includes(DEMO_AGENT_SETTINGS.handoff_message)));
    await shot('6-sandbox-reply');
  }, 30_000);

  it('the pages logged no script errors and no Content-Security-Policy violations, and talked only to the gateway on 127.0.0.1', async () => {
    for (const page of [sandbox, consolePage]) expect(await page.evaluate<string[]>('window.__csp')).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests.length).toBeGreaterThan(10);
    const offsite = requests.map((r) => new URL(r.url())).filter((u) => u.protocol !== 'http:' || u.hostname !== 'localhost' || Number(u.port) !== gw!.port);
    expect(offsite.map((u) => u.href)).toEqual([]);
    const addresses = await Promise.all(remote);
    expect(addresses.length).toBeGreaterThan(10);
    expect(addresses.filter((a) => !a.startsWith('127.0.0.1 '))).toEqual([]);
  });

  it('stops cleanly on SIGTERM; the key was in no line the process wrote', async () => {
    await context?.close();
    context = undefined;
    gw!.child.kill('SIGTERM');
    expect(await gw!.exit).toBe(0);
    const output = gw!.output();
    expect(output).toContain('"msg":"shutdown complete"');
    expect(output).not.toContain(links.key.slice('gw_live_'.length));
  }, 30_000);
});
