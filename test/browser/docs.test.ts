import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS, browserDescribe, launchChromium, requireChromium, type LaunchedBrowser } from '../support/browser';
import request from 'supertest';
import { DOCS_CSP } from '../../src/http/routes/docs.route';
import { createTestRuntime, type TestRuntime } from '../support/runtime';

/**
 * The API reference at /docs in a real browser (the system's Chromium, driven by playwright-core):
 * Swagger UI, served from the installed swagger-ui-dist, renders the gateway's own
 * /openapi.json with its operations and webhooks, under a strict CSP, and nothing leaves the
 * machine. Screenshot: test/artifacts/docs.png.
 */
const describeBrowser = browserDescribe('docs');

describeBrowser('API reference (/docs) in a browser', () => {
  let rt: TestRuntime;
  let server: http.Server;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let browser: LaunchedBrowser | undefined;
  const requests: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    requireChromium();
    rt = await createTestRuntime();
    server = http.createServer(rt.app as Express);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await launchChromium('docs', { viewport: { width: 1280, height: 1000 } });
    context = browser.context;
    context.setDefaultTimeout(15_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Errors include CSP violations ("Refused to load ...", "Refused to apply inline style ...").
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await rt?.teardown();
  }, 60_000);

  it('renders the operations and the webhooks from /openapi.json, with nothing from another origin', async () => {
    const response = await page.goto(`${base}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe(DOCS_CSP);

    await page.locator('.swagger-ui .info .title').filter({ hasText: 'WhatsApp agent gateway API' }).waitFor();
    const sendMessage = page.locator('.opblock-post').filter({ has: page.locator('[data-path="/v1/messages"]') });
    await sendMessage.first().waitFor();
    expect(await sendMessage.first().locator('.opblock-summary-method').textContent()).toBe('POST');
    for (const [method, p] of [
      ['get', '/v1/conversations/{id}'],
      ['post', '/v1/conversations/{id}/takeover'],
      ['get', '/v1/events/stream'],
      ['post', '/webhooks/whatsapp'],
    ] as const) {
      expect(await page.locator(`.opblock-${method} [data-path="${p}"]`).count()).toBeGreaterThan(0);
    }
    // OpenAPI 3.1 webhooks: their own section, one entry per event type.
    const webhooks = page.locator('.webhooks');
    await webhooks.getByText('Webhooks', { exact: true }).first().waitFor();
    expect(await webhooks.getByText('message.received', { exact: true }).count()).toBeGreaterThan(0);
    expect(await webhooks.getByText('conversation.takeover', { exact: true }).count()).toBeGreaterThan(0);
    // The bearer key scheme.
    expect(await page.locator('.auth-wrapper .authorize').count()).toBe(1);

    // Open POST /v1/messages: its scope and the Idempotency-Key header are there.
    await sendMessage.first().locator('.opblock-summary').click();
    const body = sendMessage.first().locator('.opblock-body');
    await body.waitFor();
    await body.getByText('messages:send').first().waitFor();
    expect(await body.getByText('Idempotency-Key').count()).toBeGreaterThan(0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });

    // Every request the page made went to this gateway, on the loopback.
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((u) => new URL(u).host !== new URL(base).host)).toEqual([]);
    expect(requests).toEqual(expect.arrayContaining([`${base}/openapi.json`, `${base}/docs/assets/swagger-ui-bundle.js`, `${base}/docs/assets/swagger-ui.css`]));
    expect(problems).toEqual([]);
  }, 60_000);

  it("serves only the files the page uses from swagger-ui-dist (not the package's Petstore demo)", async () => {
    await request(rt.app as Express).get('/docs/assets/swagger-ui-bundle.js').expect(200).expect('content-type', /javascript/);
    await request(rt.app as Express).get('/docs/assets/index.html').expect(404);
    await request(rt.app as Express).get('/docs/assets/swagger-initializer.js').expect(404);
    await request(rt.app as Express).get('/docs/assets/../package.json').expect(404);
  });
});
