/**
 * Runs the suite in headless Chrome: builds the benchmark page with vite, serves it from 127.0.0.1 (WebGPU needs
 * a secure context), and drives it with puppeteer-core on a system Chrome/Chromium (never a download).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { build, preview } from 'vite';
import type { BenchState, PageOptions } from '../browser/main.js';
import type { SuiteResult } from './suite.js';

/**
 * Chromium flags that expose WebGPU on a machine without a GPU (SwiftShader) in headless mode; the browser tests
 * (test/browser.ts) launch with them too.
 */
export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--ignore-gpu-blocklist',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // A hidden tab must not be throttled while it benchmarks.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
];

/**
 * @param executablePath Chrome or Chromium binary.
 * @param onLog progress lines from the page.
 * @returns the page's results and the browser's version string.
 * @throws Error when the browser cannot start, the page reports a failure (validation included), or WebGPU is
 *   missing there.
 */
export async function runInChrome(
  executablePath: string,
  options: PageOptions,
  onLog: (line: string) => void,
): Promise<{ result: SuiteResult; browser: string }> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-page-'));
  const profile = mkdtempSync(join(tmpdir(), 'bench-chrome-'));
  await build({
    root: 'bench/browser',
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  const server = await preview({
    root: 'bench/browser',
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
    });
  } catch (e) {
    await server.close();
    throw new Error(
      `could not start ${executablePath}: ${String(e)}\n` +
        'Install Chromium (Debian: apt-get install chromium) or pass --chrome PATH / set CHROME_PATH.',
      { cause: e },
    );
  }
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => onLog(`page error: ${String(e)}`));
    await page.goto(server.resolvedUrls!.local[0]);
    await page.waitForFunction(() => typeof window.startBench === 'function');
    await page.evaluate((o) => window.startBench(o), options);
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const state: BenchState = await page.evaluate(() => {
        const s = window.benchState;
        const snapshot = { ...s, log: [...s.log] };
        s.log.length = 0;
        return snapshot;
      });
      state.log.forEach(onLog);
      if (state.status === 'failed') throw new Error(`in Chrome: ${state.error}`);
      if (state.status === 'done') return { result: state.result!, browser: await browser.version() };
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}
