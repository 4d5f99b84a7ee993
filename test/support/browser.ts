import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * The browser tests drive the system's Chromium (apt-get install chromium) with playwright-core;
 * nothing is downloaded. Without Chromium they are skipped with a warning, except with CI=true,
 * where they run and fail.
 */
const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');
const haveChromium = fs.existsSync(CHROMIUM);
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** `describe`, or `describe.skip` (said once) where Chromium is missing outside CI. */
export function browserDescribe(name: string): jest.Describe {
  if (haveChromium || inCi) return describe;
  console.warn(`${name} browser test skipped: ${CHROMIUM} is missing (apt-get install chromium). With CI=true it fails instead.`);
  return describe.skip;
}

/** For a beforeAll: fails the run where Chromium is missing; makes the screenshots' directory. */
export function requireChromium(): void {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium); CI=true requires this test to run`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}

export interface LaunchedBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Headless Chromium on a fresh profile, with nothing that would talk to the network by itself. */
export async function launchChromium(name: string, opts: { viewport?: { width: number; height: number } } = {}): Promise<LaunchedBrowser> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-chromium-`));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      ...(opts.viewport ? { viewport: opts.viewport } : {}),
      timeout: 30_000,
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        fs.rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
}
