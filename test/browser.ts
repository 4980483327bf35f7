/**
 * Launches the system Chromium headless with WebGPU on SwiftShader (never downloads a browser), builds and serves
 * the demo page for the end-to-end tests, and serves the test pages under test/pages/.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build, createServer, preview } from 'vite';
import { CHROMIUM_FLAGS } from '../bench/harness/chrome.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A fresh profile per launch; `close()` also removes it. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
    // SwiftShader on a busy 2-core machine can keep the page's thread past puppeteer's default 180 s for one
    // polling call of waitForSelector; the tests bound their waits themselves.
    protocolTimeout: 900_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in a fresh headless Chromium; `errors` collects the page's uncaught errors, `close()` ends the browser.
 * @throws Error with the fix when the browser is missing (a failure, never a silent skip).
 */
export async function openPage(
  url: string,
): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/setup.sh`);
  const { browser, close } = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors, close };
}

/**
 * Builds demo/ with vite into a temporary folder and serves it with vite's preview server on 127.0.0.1 (a free
 * port). `close()` stops the server and removes the build.
 */
export async function serveDemo(): Promise<{ url: string; close: () => Promise<void> }> {
  const outDir = mkdtempSync(join(tmpdir(), 'demo-'));
  const common = { root: 'demo', configFile: 'demo/vite.config.ts', logLevel: 'warn' as const };
  await build({ ...common, build: { outDir, emptyOutDir: true } });
  const server = await preview({
    ...common,
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  return {
    url: server.resolvedUrls!.local[0],
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * Serves the repository root with vite's dev server on 127.0.0.1 (a free port) and opens `test/pages/<name>/` in a
 * fresh headless Chromium, so the page imports src/ and test/ modules as they are; waits (up to 300 s: SwiftShader
 * on a busy machine compiles slowly) until the page defines `window[ready]`. `errors` collects the page's uncaught
 * errors; `close()` ends the browser and the server.
 * @throws Error with the fix when the browser is missing (a failure, never a silent skip).
 */
export async function openTestPage(
  name: string,
  ready: string,
): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/setup.sh`);
  const server = await createServer({
    root: '.',
    configFile: false,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false },
    // Pre-bundle what this page imports, not every HTML file under the root (the demo's need its vite config).
    optimizeDeps: { entries: [`test/pages/${name}/index.html`] },
  });
  await server.listen();
  const chromium = await launchChromium().catch(async (e: unknown) => {
    await server.close();
    throw e;
  });
  const close = async () => {
    await chromium.close();
    await server.close();
  };
  try {
    const page = await chromium.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.resolvedUrls!.local[0]}test/pages/${name}/index.html`);
    await page.waitForFunction(`typeof window.${ready} === "function"`, { timeout: 300_000 });
    return { page, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}
