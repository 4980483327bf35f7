/**
 * The demo page end to end: built with vite, served by vite's preview server on 127.0.0.1, loaded in headless
 * Chromium (WebGPU on SwiftShader); every registry kernel must pass the in-page check (forward against the CPU
 * reference, backward against its finite differences; each row named by its function, `unary tanh`), then NW
 * trains its 5 epochs with the live plots drawn, then the masked-token MLP and ClsTransformer train briefly,
 * switched to from the model picker.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, serveDemo } from './browser.js';

let demo: Awaited<ReturnType<typeof serveDemo>> | undefined;

beforeAll(async () => {
  demo = await serveDemo();
}, 120_000);

afterAll(async () => {
  await demo?.close();
});

/** Waits until the training status says the run ended, and returns that state. */
async function runEnded(page: Page, timeout: number): Promise<string> {
  const ended = () =>
    ['done', 'stopped', 'error'].includes(document.querySelector<HTMLElement>('#status')!.dataset.state!);
  await page.waitForFunction(ended, { timeout, polling: 250 });
  return page.$eval('#status', (e) => `${(e as HTMLElement).dataset.state}: ${e.textContent}`);
}

it(
  'checks every kernel, forward and backward, and trains NW, then the MLP, in Chromium',
  { timeout: 420_000 },
  async () => {
    // A missing browser is a failure with the fix, never a silent skip.
    expect(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run bash scripts/setup.sh (apt-get install chromium)`,
    ).toBe(true);
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.setViewport({ width: 1200, height: 900 });
      await page.goto(demo!.url);
      await page.waitForFunction(
        () => !document.querySelector('#adapter')!.textContent!.startsWith('Requesting'),
      );
      const adapter = await page.$eval('#adapter', (e) => e.textContent!);
      expect(adapter).toMatch(/^vendor/);
      expect(adapter).toMatch(/kernel set: software \(chosen for a CPU-emulated adapter/);
      await page.click('#runall');
      await page.waitForSelector('#summary[data-done]', { timeout: 300_000 });
      const failures = await page.$$eval('#kernels tr.fail', (rows) => rows.map((r) => r.textContent));
      expect(failures).toEqual([]);
      const passed = await page.$$eval('#kernels tr.pass td:first-child', (cells) =>
        cells.map((c) => c.textContent!),
      );
      expect(passed.filter((op) => !op.endsWith(' backward')).length).toBeGreaterThan(150);
      expect(passed.filter((op) => op.endsWith(' backward')).length).toBeGreaterThan(100);
      // Every row names its function: 39 unary and 24 binary forward rows, none that reads only "unary".
      expect(passed.filter((op) => /^unary \w+$/.test(op) && op !== 'unary backward').length).toBe(39);
      expect(passed.filter((op) => /^binary \w+$/.test(op) && op !== 'binary backward').length).toBe(24);
      expect(passed).toEqual(
        expect.arrayContaining(['unary tanh', 'unary tanh backward', 'binary add backward']),
      );
      for (const bare of ['unary', 'binary', 'unary backward', 'binary backward'])
        expect(passed).not.toContain(bare);

      // NW is the first model; its default is d2l's 5 epochs.
      expect(await page.$eval('#model', (e) => (e as HTMLSelectElement).value)).toBe('nadaraya_watson');
      expect(await page.$eval('#epochs', (e) => (e as HTMLInputElement).value)).toBe('5');
      await page.click('#start');
      expect(await runEnded(page, 120_000)).toMatch(/^done/);
      let log = await page.$eval('#log', (e) => e.textContent!);
      expect(log).toMatch(/nadaraya_watson epoch 5\/5: loss [\d.]+, w = [\d.]+/);
      // Both plots are Vega views on a canvas; the heatmap has its colour legend.
      expect(await page.$$eval('#lossChart canvas, #heatmap canvas', (c) => c.length)).toBe(2);
      mkdirSync('results', { recursive: true });
      await page.screenshot({ path: 'results/demo.png', fullPage: true });

      await page.select('#model', 'cls_mlp');
      await page.$eval('#epochs', (e) => ((e as HTMLInputElement).value = '2'));
      await page.click('#start');
      expect(await runEnded(page, 90_000)).toMatch(/^done/);
      log = await page.$eval('#log', (e) => e.textContent!);
      expect(log).toMatch(/cls_mlp epoch 2\/2: loss [\d.]+, train accuracy [\d.]+/);

      // ClsTransformer's heatmap is the placeholder's attention row, one row per block and head.
      await page.select('#model', 'cls_transformer');
      await page.$eval('#epochs', (e) => ((e as HTMLInputElement).value = '1'));
      await page.click('#start');
      expect(await runEnded(page, 120_000)).toMatch(/^done/);
      log = await page.$eval('#log', (e) => e.textContent!);
      expect(log).toMatch(/cls_transformer epoch 1\/1: loss [\d.]+, train accuracy [\d.]+/);
      expect(await page.$$eval('#heatmap canvas', (c) => c.length)).toBe(1);
      await page.screenshot({ path: 'results/demo_cls_transformer.png', fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  },
);
