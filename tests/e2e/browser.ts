/**
 * Debian's chromium driven by playwright-core. The machine has no internet, so every
 * background connection chromium would make is switched off, and each run gets a new,
 * empty profile. A missing chromium is a failure with the fix in its message, never a skip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_PATH, ensurePackages, installCommand } from '../../dev/system-packages.ts';


export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (ensurePackages([CHROMIUM], 'for the browser test').length > 0) {
    throw new Error(`The browser test needs chromium at ${CHROMIUM_PATH}: ${installCommand([CHROMIUM])} (or set CHROMIUM_PATH).`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'billing-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1100, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
