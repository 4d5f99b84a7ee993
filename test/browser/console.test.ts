import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Express } from 'express';
import { type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS, browserDescribe, launchChromium, requireChromium, type LaunchedBrowser } from '../support/browser';
import request from 'supertest';
import { SCOPES } from '../../src/domain/keys/scopes';
import { consoleRoutes } from '../../src/http/routes/console.route';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, statusPayload, textPayload, uniqueWamid } from '../support/meta';

/**
 * The agent console in a real browser (the system's Chromium, driven by playwright-core) against
 * the real gateway: webhook ingress, the conversations API, the live event stream and the send
 * pipeline, with Meta's Graph API emulated. Screenshots go to test/artifacts/.
 */
const describeBrowser = browserDescribe('console');

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

describeBrowser('agent console in a browser', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let server: http.Server;
  let base: string;
  let key: string;
  let context: BrowserContext;
  let page: Page;
  let browser: LaunchedBrowser | undefined;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const ana = '16505557001';
  const late = '16505557002';
  const hostile = '<img src=x onerror="window.__pwned=1"> Can I talk to a real person please?';

  const app = () => f.rt.app as Express;
  const sendsTo = (waId: string) =>
    graph.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/messages') && String((c.body as { to?: string }).to ?? '').replace(/^\+/, '') === waId);
  const textOf = (c: { body: unknown }) => (c.body as { text?: { body?: string } }).text?.body;
  const conversationOf = async (waId: string) =>
    (await f.rows<{ id: string; mode: string }>('select v.id, v.mode from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]))[0];
  const item = (name: string) => page.locator('#conversation-list li', { hasText: name });

  beforeAll(async () => {
    requireChromium();
    graph = await startGraphEmulator(ACCESS_TOKEN);
    // The agent (offline provider) runs soon after a message, so a request for a person becomes a handoff.
    f = await createIngressFixture({ WHATSAPP_GRAPH_URL: graph.url, AGENT_DEBOUNCE_MS: '100' }, { workers: true });
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'console', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;

    server = http.createServer(app());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await launchChromium('console', { viewport: { width: 1280, height: 860 } });
    context = browser.context;
    context.setDefaultTimeout(10_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // Chromium logs every non-2xx answer as a failed resource; the refused key (401), the
      // conflicting takeover (409) and the stream cut on purpose are part of the story.
      if (m.type() === 'error' && !/status of (401|409)\b|ERR_INCOMPLETE_CHUNKED_ENCODING/.test(m.text())) pageErrors.push(m.text());
    });
    if (process.env.DEBUG_CONSOLE) page.on('response', (r) => console.log(r.request().method(), r.url(), r.status()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 90_000);

  afterAll(async () => {
    if (process.env.DEBUG_CONSOLE) console.log(f?.rt.logs.lines().filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l)).join('\n'));
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await f?.rt.teardown();
    await graph?.close();
  }, 60_000);

  it('signs in with a pasted key and shows the customer who asked for a person, live', async () => {
    await page.goto(`${base}/console`);
    await page.getByLabel('API key').fill('gw_live_not_a_real_key');
    await page.getByLabel('Your name').fill('Maria');
    await page.getByRole('button', { name: 'Connect' }).click();
    await eventually('the refusal', async () => expect(await page.locator('#signin-error').textContent()).toMatch(/not accepted/));

    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#workspace').waitFor({ state: 'visible' });
    await eventually('the live stream', async () => expect(await page.locator('#connection-text').textContent()).toBe('Live'));
    expect(await page.evaluate<string | null>("sessionStorage.getItem('console.apiKey')")).toBe(key);
    expect(await page.evaluate<string | null>("sessionStorage.getItem('console.agentName')")).toBe('Maria');

    // The customer writes while the console is open: the row appears without a reload.
    await postSigned(app(), textPayload({ from: ana, name: 'Ana', body: hostile }), APP_SECRET).expect(200);
    await eventually('the handoff', async () => expect((await conversationOf(ana))?.mode).toBe('pending_human'));
    await eventually('the row, waiting for a person', async () => {
      const text = await item('Ana').textContent();
      expect(text).toContain('Waiting for a person');
      expect(text).toMatch(/\d+h \d+m left/);
    });
    // The connection drops (a proxy, a deploy): the console comes back on its own and resumes from
    // the last event it saw.
    const resumes: (string | undefined)[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/events/stream')) resumes.push(r.headers()['last-event-id']);
    });
    server.closeAllConnections();
    await eventually('the reconnect', async () => {
      expect(resumes.length).toBeGreaterThanOrEqual(1);
      expect(await page.locator('#connection-text').textContent()).toBe('Live');
    });
    expect(resumes[0]).toMatch(/^evt_/);
    await postSigned(app(), textPayload({ from: ana, name: 'Ana', body: 'Hello? Anyone there?' }), APP_SECRET).expect(200);
    await eventually('the preview and unread count', async () => {
      expect(await item('Ana').locator('.conversation-preview').textContent()).toContain('Hello? Anyone there?');
      expect(Number(await item('Ana').locator('.unread').textContent())).toBeGreaterThanOrEqual(1);
    });
  }, 60_000);

  it('opens the conversation: untrusted text stays text, the handoff reason and the window are shown', async () => {
    await item('Ana').getByRole('button').click();
    await eventually('the transcript', async () => expect(await page.locator('#transcript').textContent()).toContain(hostile));
    expect(await page.locator('#transcript img').count()).toBe(0);
    expect(await page.evaluate<number | undefined>('window.__pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.locator('#detail-title').textContent()).toBe('Ana');
    expect(await page.locator('#detail-handoff').textContent()).toMatch(/Waiting for a person: .*asked for a person/i);
    expect(await page.locator('#detail-window').textContent()).toMatch(/^window closes in (23h 5\dm|24h 0m)$/);
    expect(page.url()).toMatch(/#conv_/);
    // Not taken over yet: no free-form reply.
    expect(await page.locator('#reply-text').isDisabled()).toBe(true);
  }, 30_000);

  it('takes over, replies to the customer through Meta, adds a note that is never sent, hands back', async () => {
    await page.getByRole('button', { name: 'Take over', exact: true }).click();
    await eventually('human mode', async () => expect(await page.locator('#detail-badges').textContent()).toContain('Human · Maria'));
    expect(await page.locator('#reply-text').isEnabled()).toBe(true);
    // Keyboard: the reply box has focus after a takeover; Ctrl+Enter sends.
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('reply-text');
    const wamid = uniqueWamid();
    graph.setNextWamid(wamid);
    await page.keyboard.type('Hi Ana, Maria here. How can I help?');
    await page.keyboard.press('Control+Enter');

    await eventually('the reply at Meta', () => expect(sendsTo(ana).map(textOf)).toContain('Hi Ana, Maria here. How can I help?'), 15_000);
    const sent = sendsTo(ana).find((c) => textOf(c) === 'Hi Ana, Maria here. How can I help?');
    expect(sent?.body).toMatchObject({ messaging_product: 'whatsapp', type: 'text' });
    const mine = page.locator('#transcript li.message-out', { hasText: 'Hi Ana, Maria here.' });
    await eventually('the tick to move to sent', async () => expect(await mine.getAttribute('data-status')).toBe('sent'), 15_000);
    expect(await mine.textContent()).toContain('Agent · Maria');
    // Meta's receipts move the tick live.
    await postSigned(app(), statusPayload([{ wamid, status: 'delivered' }]), APP_SECRET).expect(200);
    await eventually('delivered', async () => expect(await mine.getAttribute('data-status')).toBe('delivered'));
    await postSigned(app(), statusPayload([{ wamid, status: 'read' }]), APP_SECRET).expect(200);
    await eventually('read', async () => expect(await mine.locator('.status').textContent()).toBe('✓✓ read'));
    expect(await page.locator('#reply-text').inputValue()).toBe('');

    await page.locator('#note-panel summary').click();
    await page.getByLabel(/Internal note/).fill('VIP customer — refund approved by Sam');
    await page.getByRole('button', { name: 'Add note' }).click();
    const note = page.locator('#transcript li.note', { hasText: 'VIP customer' });
    await note.waitFor();
    expect(await note.textContent()).toMatch(/never sent/i);
    await new Promise((r) => setTimeout(r, 300));
    expect(graph.calls.some((c) => JSON.stringify(c.body ?? null).includes('VIP customer'))).toBe(false);

    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });

    await page.getByRole('button', { name: 'Hand back to the bot' }).click();
    await eventually('bot mode', async () => expect(await page.locator('#detail-badges').textContent()).toContain('Bot'));
    expect((await conversationOf(ana))?.mode).toBe('bot');
    expect(await page.locator('#reply-text').isDisabled()).toBe(true);
  }, 60_000);

  it("offers 'Take over anyway' when another agent holds the conversation", async () => {
    const conv = (await conversationOf(ana))?.id as string;
    await request(app())
      .post(`/v1/conversations/${conv}/takeover`)
      .set('Authorization', `Bearer ${key}`)
      .send({ agent: { id: 'agt_jo', name: 'Jo' } })
      .expect(200);
    await eventually('the live takeover by Jo', async () => expect(await page.locator('#detail-badges').textContent()).toContain('Human · Jo'));
    expect(await page.locator('#reply-text').isDisabled()).toBe(true);
    expect(await page.locator('#reply-hint').textContent()).toContain('Jo has this conversation');

    await page.getByRole('button', { name: 'Take over from Jo' }).click();
    const error = page.locator('#detail-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('conversation_taken');
    await page.getByRole('button', { name: 'Take over anyway' }).click();
    await eventually('Maria holds it again', async () => expect(await page.locator('#detail-badges').textContent()).toContain('Human · Maria'));
    expect(await error.isHidden()).toBe(true);
  }, 30_000);

  it('closes and reopens; filters by mode and searches', async () => {
    await page.getByRole('button', { name: 'Close' }).click();
    await eventually('closed', async () => expect(await page.locator('#detail-badges').textContent()).toContain('Closed'));
    await page.getByRole('button', { name: 'Reopen' }).click();
    await eventually('reopened', async () => expect(await page.locator('#detail-badges').textContent()).not.toContain('Closed'));

    // Whatever mode closing and reopening left Ana in, the filter for it shows her and another does not.
    const mode = (await conversationOf(ana))?.mode as string;
    const labels: Record<string, string> = { bot: 'Bot', human: 'Human', pending_human: 'Waiting for a person' };
    const other = mode === 'bot' ? 'human' : 'bot';
    await page.getByLabel(labels[other] as string, { exact: true }).check();
    await eventually(`Ana filtered out of ${other} mode`, async () => expect(await item('Ana').count()).toBe(0));
    await page.getByLabel(labels[mode] as string, { exact: true }).check();
    await eventually(`Ana in ${mode} mode`, async () => expect(await item('Ana').count()).toBe(1));
    await page.getByLabel('All', { exact: true }).check();

    await postSigned(app(), textPayload({ from: late, name: 'Bruno', body: 'Order 4471 never arrived', timestamp: Math.floor(Date.now() / 1000) - 25 * 3600 }), APP_SECRET).expect(200);
    await eventually('Bruno in the list', async () => expect(await item('Bruno').count()).toBe(1));
    await page.getByLabel('Search conversations').fill('Bruno');
    await eventually('only Bruno', async () => {
      expect(await item('Bruno').count()).toBe(1);
      expect(await item('Ana').count()).toBe(0);
    });
    await page.getByLabel('Search conversations').fill('');
    await eventually('everyone again', async () => expect(await item('Ana').count()).toBe(1));
  }, 30_000);

  it('a conversation whose 24-hour window has closed accepts only templates', async () => {
    await item('Bruno').getByRole('button').click();
    await eventually('the closed window', async () => expect(await page.locator('#detail-window').textContent()).toBe('window closed — only templates'));
    await page.getByRole('button', { name: 'Take over', exact: true }).click();
    await eventually('human mode', async () => expect(await page.locator('#detail-badges').textContent()).toContain('Human · Maria'));
    expect(await page.locator('#reply-text').isDisabled()).toBe(true);
    expect(await page.locator('#reply-send').isDisabled()).toBe(true);
    expect(await page.locator('#reply-hint').textContent()).toContain('only approved templates');
  }, 30_000);

  it('is usable on a 360 px wide phone: one pane at a time, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${base}/console`);
    // The key survives a reload of the tab (sessionStorage).
    await page.locator('#workspace').waitFor({ state: 'visible' });
    await item('Ana').waitFor();
    expect(await page.locator('#detail-pane').isHidden()).toBe(true);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-mobile-list.png') });

    await item('Ana').getByRole('button').focus();
    await page.keyboard.press('Enter');
    await page.locator('#transcript li', { hasText: 'Hi Ana, Maria here.' }).waitFor();
    expect(await page.locator('#list-pane').isHidden()).toBe(true);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-mobile.png') });

    await page.getByRole('button', { name: '← Conversations' }).click();
    await page.locator('#list-pane').waitFor({ state: 'visible' });
    expect(await page.evaluate<string>("document.activeElement?.closest('li')?.textContent ?? ''")).toContain('Ana');
  }, 30_000);

  it('logged no script errors and no Content-Security-Policy violations', () => {
    expect(pageErrors).toEqual([]);
  });
});

describeBrowser('the console SSE reader', () => {
  let context: BrowserContext;
  let browser: LaunchedBrowser | undefined;
  let gateway: http.Server;
  let sse: http.Server;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    requireChromium();
    // Only the console's static files are needed: serve them from a bare app.
    const app = express();
    app.use(consoleRoutes());
    app.get('/blank', (_req, res) => void res.type('html').send('<!doctype html><title>blank</title>'));
    gateway = http.createServer(app);
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));

    // First connection: two events, then half of a third, then the connection drops. The reader
    // must come back with Last-Event-ID: 2 and get 3 and 4 exactly once.
    let connection = 0;
    sse = http.createServer((req, res) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Allow-Headers': 'authorization, last-event-id', 'Access-Control-Allow-Methods': 'GET' }).end();
        return;
      }
      connection++;
      seen.push(req.headers['last-event-id'] as string | undefined);
      if (req.headers.authorization !== 'Bearer gw_test_x') return void res.writeHead(401).end();
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      if (connection === 1) {
        res.write(': ping\n\nid: 1\nevent: message.received\ndata: {"n":1,\ndata: "two lines":true}\n\n');
        res.write('id: 2\r\nevent: conversation.takeover\r\ndata: {"n":2}\r');
        setTimeout(() => {
          res.write('\n\r\nid: 3\nevent: message.sent\ndata: {"n":');
          setTimeout(() => res.destroy(), 50);
        }, 50);
      } else {
        res.write('id: 3\nevent: message.sent\ndata: {"n":3}\n\nid: 4\ndata: {"n":4}\n\n');
      }
    });
    await new Promise<void>((resolve) => sse.listen(0, '127.0.0.1', resolve));

    browser = await launchChromium('console');
    context = browser.context;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of [gateway, sse]) {
      s?.closeAllConnections();
      await new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)));
    }
  });

  it('parses events across chunk boundaries and line endings, and resumes after a drop with Last-Event-ID', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    const origin = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    await page.goto(`${origin}/blank`);
    const result = await page.evaluate(
      async ({ url, origin }) => {
        const { openEventStream } = await import(`${origin}/console/sse.js`);
        const events: { type: string; id: string; data: unknown }[] = [];
        const states: string[] = [];
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only got ${JSON.stringify(events)} / ${states.join(',')}`)), 8000);
          const stream = openEventStream({
            url,
            token: 'gw_test_x',
            backoff: { base: 50, max: 200 },
            onState: (s: { state: string }) => states.push(s.state),
            onEvent: (e: { type: string; id: string; data: string }) => {
              events.push({ type: e.type, id: e.id, data: JSON.parse(e.data) });
              if (e.id === '4') {
                clearTimeout(timer);
                stream.close();
                resolve();
              }
            },
          });
        });
        return { events, states };
      },
      { url: `http://127.0.0.1:${(sse.address() as AddressInfo).port}/stream`, origin },
    );
    expect(result.events).toEqual([
      { type: 'message.received', id: '1', data: { n: 1, 'two lines': true } },
      { type: 'conversation.takeover', id: '2', data: { n: 2 } },
      { type: 'message.sent', id: '3', data: { n: 3 } },
      { type: 'message', id: '4', data: { n: 4 } },
    ]);
    expect(seen).toEqual([undefined, '2']);
    expect(result.states.slice(0, 4)).toEqual(['connecting', 'open', 'retrying', 'connecting']);
  }, 30_000);
});
