/**
 * Headless Chromium for the tests that look at the HTML the harness writes (the report, the
 * simulation report, the sweep page): Debian's /usr/bin/chromium driven by playwright-core. Where it
 * is missing the test is skipped with the reason printed (.ci/run installs it when it can).
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether Chromium is installed; prints why `what` is skipped when it is not. */
export function hasChromium(what: string): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok) console.log(`skipping the headless Chromium test of ${what}: ${CHROMIUM} not installed (apt-get install -y chromium)`);
  return ok;
}

/**
 * Opens `file` in a fresh headless browser, runs `look` on the page, and closes the browser. `look`
 * gets the URLs the page requested that are not file:// (a self-contained page requests none).
 */
export async function withPage<T>(file: string, viewport: { width: number; height: number }, look: (page: Page, network: () => string[]) => Promise<T>): Promise<T> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    return await look(page, () => requests.filter((u) => !u.startsWith('file://')));
  } finally {
    await browser.close();
  }
}
