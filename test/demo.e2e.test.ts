/**
 * The demo page end to end: built with vite, served by vite's preview server on 127.0.0.1, loaded in headless
 * Chromium (WebGPU on SwiftShader); every registry kernel must pass the in-page check, then NW trains.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from './browser.js';

const outDir = mkdtempSync(join(tmpdir(), 'demo-'));
let server: PreviewServer | undefined;

beforeAll(async () => {
  await build({
    root: 'demo',
    configFile: 'demo/vite.config.ts',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  server = await preview({
    root: 'demo',
    configFile: 'demo/vite.config.ts',
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

it('checks every kernel and trains NW in Chromium', { timeout: 180_000 }, async () => {
  // A missing browser is a failure with the fix, never a silent skip.
  expect(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run bash scripts/setup.sh (apt-get install chromium)`,
  ).toBe(true);
  const url = server!.resolvedUrls!.local[0];
  const { browser, close } = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(url);
    await page.waitForFunction(
      () => !document.querySelector('#adapter')!.textContent!.startsWith('Requesting'),
    );
    const adapter = await page.$eval('#adapter', (e) => e.textContent!);
    expect(adapter).toMatch(/^vendor/);
    await page.click('#runall');
    await page.waitForSelector('#summary[data-done]', { timeout: 150_000 });
    const failures = await page.$$eval('#kernels tr.fail', (rows) => rows.map((r) => r.textContent));
    expect(failures).toEqual([]);
    const rows = await page.$$eval('#kernels tr.pass', (r) => r.length);
    expect(rows).toBeGreaterThan(20);
    await page.click('#run');
    await page.waitForFunction(() => /learned w =/.test(document.querySelector('#log')!.textContent!), {
      timeout: 120_000,
    });
    const log = await page.$eval('#log', (e) => e.textContent!);
    expect(log).toMatch(/nadaraya_watson epoch 5/);
    mkdirSync('results', { recursive: true });
    await page.screenshot({ path: 'results/demo.png', fullPage: true });
  } finally {
    await close();
  }
});
