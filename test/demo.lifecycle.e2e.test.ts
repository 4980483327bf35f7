/**
 * Memory and lifecycle of a long-running page (issue #6 §3), in headless Chromium on the built demo: several
 * cycles of start training / stop / start again / switch model must each bring the live tensors and the GPU
 * buffer count back to their baseline, and destroying the engine must release the device ('destroyed') and leave
 * room for a new engine that runs an op. Driven through `window.demo` (demo/main.ts).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MemoryStats } from '../src/runtime/engine.js';
import { CHROMIUM, launchChromium, serveDemo } from './browser.js';

let demo: Awaited<ReturnType<typeof serveDemo>> | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'corpus-'));

beforeAll(async () => {
  demo = await serveDemo();
}, 120_000);

afterAll(async () => {
  await demo?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const live = (m: MemoryStats) => ({ tensors: m.tensors, buffers: m.buffers, inUse: m.inUse, bytes: m.bytes });

async function memory(page: Page): Promise<ReturnType<typeof live>> {
  return live(await page.evaluate(() => window.demo.memory()));
}

/** Waits until the run in progress holds GPU memory (so a later stop frees something). */
async function holdingMemory(page: Page): Promise<void> {
  await page.waitForFunction(async () => (await window.demo.memory()).inUse > 0, {
    timeout: 60_000,
    polling: 200,
  });
}

/**
 * The longest the page's event loop went without running a 10 ms timer over `ms` of wall time: how long a click
 * would wait while training runs.
 */
async function longestStall(page: Page, ms: number): Promise<number> {
  return page.evaluate(async (ms) => {
    let last = performance.now();
    const end = last + ms;
    let longest = 0;
    while (last < end) {
      await new Promise((r) => setTimeout(r, 10));
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }
    return longest;
  }, ms);
}

/** Waits until the log has a line matching `pattern` (an epoch finished). */
async function logged(page: Page, pattern: string, timeout = 90_000): Promise<void> {
  await page.waitForFunction(
    (p) => new RegExp(p).test(document.querySelector('#log')!.textContent!),
    {
      timeout,
      polling: 250,
    },
    pattern,
  );
}

it(
  'returns to its memory baseline over start/stop/switch cycles, and survives destroying the engine',
  {
    timeout: 240_000,
  },
  async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh`).toBe(true);
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(demo!.url);
      await page.waitForFunction(() => typeof window.demo === 'object');
      const baseline = await memory(page);
      expect(baseline.tensors).toBe(0);

      // 1: train until an epoch is done, stop.
      await page.evaluate(() => window.demo.start('cls_attention', 50));
      await logged(page, 'cls_attention epoch 1/50');
      const during = await memory(page);
      expect(during.tensors).toBeGreaterThan(0);
      expect(during.buffers).toBeGreaterThan(baseline.buffers);
      await page.evaluate(() => window.demo.stop());
      expect(await page.evaluate(() => window.demo.running())).toBe(null);
      expect(await memory(page)).toEqual(baseline);

      // 2: start the same model again and stop in the middle of an epoch.
      await page.evaluate(() => window.demo.start('cls_attention', 50));
      await page.waitForFunction(() => window.demo.running() === 'cls_attention');
      await holdingMemory(page);
      await new Promise((r) => setTimeout(r, 1000));
      await page.evaluate(() => window.demo.stop());
      expect(await memory(page)).toEqual(baseline);

      // 3: switch models while one trains (MLP → Bahdanau seq2seq on the bundled corpus), then stop.
      await page.evaluate(() => window.demo.start('cls_mlp', 50));
      await logged(page, 'cls_mlp epoch 1/50');
      await page.evaluate(() => window.demo.start('bahdanau', 20));
      await page.waitForFunction(() => window.demo.running() === 'bahdanau', { timeout: 30_000 });
      await holdingMemory(page);
      const stalls = [await longestStall(page, 2000)];
      await page.evaluate(() => window.demo.stop());
      expect(await memory(page)).toEqual(baseline);
      const log = await page.$eval('#log', (e) => e.textContent!);
      expect(log).toMatch(/cls_mlp stopped/);
      expect(log).toMatch(/bahdanau stopped/);

      // 4: a corpus file picked with the file input; the Transformer trains on it to the end, heatmap included.
      const corpus = join(tmp, 'pairs.txt');
      const lines = [
        'Go.\tVa !',
        'Hi.\tSalut !',
        'Run!\tCours !',
        'Wow!\tÇa alors !',
        "I lost.\tJ'ai perdu.",
      ];
      writeFileSync(corpus, `${[...lines, ...lines].join('\n')}\n`);
      const input = (await page.$('#file')) as ElementHandle<HTMLInputElement>;
      await input.uploadFile(corpus);
      await page.waitForFunction(() =>
        document.querySelector('#corpusInfo')!.textContent!.includes('pairs.txt'),
      );
      await page.evaluate(() => window.demo.start('transformer', 2));
      await page.waitForFunction(() => window.demo.running() === 'transformer', { timeout: 30_000 });
      await holdingMemory(page);
      stalls.push(await longestStall(page, 2000));
      console.log(
        `longest event-loop stalls while training (ms): ${stalls.map((s) => s.toFixed(0)).join(', ')}`,
      );
      // The page stays responsive: a step's JavaScript (recording its dispatches) is all that runs between yields.
      expect(Math.max(...stalls)).toBeLessThan(1000);
      await logged(page, 'transformer finished');
      expect(await page.$eval('#log', (e) => e.textContent!)).toMatch(
        /transformer epoch 2\/2: loss [\d.]+, 10 pairs/,
      );
      expect(await page.$eval('#heatmap', (e) => e.querySelectorAll('canvas').length)).toBe(1);
      expect(await memory(page)).toEqual(baseline);

      // 5: the page keeps training after all that (and ends at its baseline once done).
      await page.evaluate(() => window.demo.start('nadaraya_watson', 3));
      await logged(page, 'nadaraya_watson finished');
      expect(await memory(page)).toEqual(baseline);

      // Destroying the engine releases the device; a new engine runs an op, with nothing left over.
      expect(await page.evaluate(() => window.demo.destroyEngine())).toBe('destroyed');
      expect(await page.evaluate(() => window.demo.addOnNewEngine())).toEqual([4, 6]);
      // The op's buffers wait in the new engine's pool for reuse; none is in use and no tensor is left.
      const after = await memory(page);
      expect({ tensors: after.tensors, inUse: after.inUse }).toEqual({ tensors: 0, inUse: 0 });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  },
);
