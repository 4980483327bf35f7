/**
 * `npm run demo:preview` end to end: the script builds the page and serves it on 127.0.0.1; in headless Chromium
 * (WebGPU on SwiftShader) the adapter line shows what the browser reports or "not reported", the bundled corpus
 * is credited and a picked file is not, invalid epochs are refused with a visible message and nothing runs, and a
 * run's weights download through the page's link and load back through its file input into a model with the same
 * weights and outputs, from which the next run continues.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeWeights } from '../demo/weights.js';
import type { MemoryStats } from '../src/runtime/engine.js';
import { openPage } from './browser.js';

const tmp = mkdtempSync(join(tmpdir(), 'preview-'));
let server: ChildProcess | undefined;
let url = '';

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  // Its own process group, so that afterAll ends npm and the vite server it started together.
  server = spawn('npm', ['run', 'demo:preview', '--', '--port', String(port), '--strictPort'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // vite bolds the port in colour terminals (and under CI=true); plain text keeps the URL matchable.
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo:preview did not start:\n${output}`)), 110_000);
    const seen = (chunk: Buffer) => {
      // eslint-disable-next-line no-control-regex
      output += String(chunk).replace(/\x1b\[[0-9;]*m/g, '');
      const m = output.match(new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    server!.stdout!.on('data', seen);
    server!.stderr!.on('data', seen);
    server!.on('exit', (code) => reject(new Error(`demo:preview exited (${code}):\n${output}`)));
  });
}, 120_000);

afterAll(() => {
  if (server?.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});

const live = (m: MemoryStats) => ({ tensors: m.tensors, buffers: m.buffers, inUse: m.inUse, bytes: m.bytes });

/** Waits until the log has a line matching `pattern`, and returns the first match's groups. */
async function logged(page: Page, pattern: string, timeout = 90_000): Promise<string[]> {
  await page.waitForFunction(
    (p) => new RegExp(p).test(document.querySelector('#log')!.textContent!),
    {
      timeout,
      polling: 200,
    },
    pattern,
  );
  const log = await page.$eval('#log', (e) => e.textContent!);
  return log.match(new RegExp(pattern))!;
}

/** Waits until no run is in progress (call it once the run's first epoch is logged: a click starts it later). */
async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => window.demo.running() === null, { timeout: 90_000, polling: 200 });
}

/** Chooses `model` in the picker, types `epochs` and clicks Start, as a user does. */
async function startFromForm(page: Page, model: string, epochs: string): Promise<void> {
  await page.select('#model', model);
  await page.$eval('#epochs', (e, v) => ((e as HTMLInputElement).value = v), epochs);
  await page.click('#start');
}

it('serves the built page', async () => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain('<title>webgpu-attention');
  // The built page, not the source: its script is a bundled asset.
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  expect(script, html).toBeDefined();
  expect((await fetch(new URL(script!, url))).status).toBe(200);
});

it(
  'adapter line, corpus credit, epochs validation, and weights download → load → resume',
  { timeout: 400_000 },
  async () => {
    const { page, errors, close } = await openPage(url);
    try {
      await page.waitForFunction(() => typeof window.demo === 'object');
      const baseline = live(await page.evaluate(() => window.demo.memory()));

      // The adapter line: every field as the browser reports it, or "not reported"; never an empty one.
      await page.waitForFunction(
        () => !document.querySelector('#adapter')!.textContent!.startsWith('Requesting'),
      );
      const adapter = (await page.$eval('#adapter', (e) => e.textContent!)).split('\n')[0];
      expect(adapter).toMatch(/^vendor \S.*, architecture \S.*, device \S.*, description \S/);
      expect(adapter).not.toMatch(/ ,|, ,|,\s*$|\(not given\)/);

      // The bundled sample is credited to fra-eng's sources; a picked file is not.
      await page.select('#model', 'bahdanau');
      const bundled = await page.$eval('#corpusInfo', (e) => e.textContent!);
      expect(bundled).toMatch(
        /^corpus: bundled sample, \d+ lines \(fra-eng, manythings\.org\/anki and tatoeba\.org, CC-BY 2\.0\)/,
      );
      const corpus = join(tmp, 'pairs.txt');
      writeFileSync(corpus, 'Go.\tVa !\nHi.\tSalut !\nRun!\tCours !\n');
      await ((await page.$('#file')) as ElementHandle<HTMLInputElement>).uploadFile(corpus);
      await page.waitForFunction(() =>
        document.querySelector('#corpusInfo')!.textContent!.includes('pairs.txt'),
      );
      const picked = await page.$eval('#corpusInfo', (e) => e.textContent!);
      expect(picked).toBe('corpus: pairs.txt, 3 lines (your file); d2l trains on 600 pairs');

      // Invalid epochs: a visible message, and nothing runs (no status change, no log line, no memory).
      for (const bad of ['0', '-2', '1.5', '1001', 'abc']) {
        await startFromForm(page, 'nadaraya_watson', bad);
        const shown = await page.$eval('#formError', (e) => ({
          hidden: (e as HTMLElement).hidden,
          text: e.textContent!,
        }));
        expect(shown.hidden, bad).toBe(false);
        expect(shown.text).toMatch(
          /^epochs must be a whole number from 1 to 1000, got .*: nothing started\.$/,
        );
        expect(await page.evaluate(() => window.demo.running())).toBe(null);
        expect(await page.$eval('#status', (e) => e.textContent)).toBe('Idle.');
        expect(await page.$eval('#log', (e) => e.textContent)).toBe('');
      }
      expect(live(await page.evaluate(() => window.demo.memory()))).toEqual(baseline);
      // A bad value does not stop the run in progress either.
      await startFromForm(page, 'cls_mlp', '50');
      await logged(page, 'cls_mlp epoch 1/50');
      await page.$eval('#epochs', (e) => ((e as HTMLInputElement).value = '0'));
      await page.click('#start');
      expect(await page.$eval('#formError', (e) => (e as HTMLElement).hidden)).toBe(false);
      expect(await page.evaluate(() => window.demo.running())).toBe('cls_mlp');
      await page.evaluate(() => window.demo.stop());

      // Weights: NW for 4 epochs, then for 3 epochs, whose weights are downloaded through the link.
      await startFromForm(page, 'nadaraya_watson', '4');
      const [, loss4] = await logged(page, 'nadaraya_watson epoch 4/4: loss ([\\d.]+)');
      await idle(page);
      await startFromForm(page, 'nadaraya_watson', '3');
      await logged(page, 'nadaraya_watson epoch 3/3');
      await idle(page);
      const trained = (await page.evaluate(() => window.demo.weights()))!;
      const outputs = (await page.evaluate(() => window.demo.heatmap()))!;
      expect(trained).toMatchObject({ model: 'nadaraya_watson', loaded: false });
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: tmp });
      expect(await page.$eval('#download', (e) => (e as HTMLAnchorElement).download)).toBe(
        'nadaraya_watson.safetensors',
      );
      await page.click('#download');
      const file = join(tmp, 'nadaraya_watson.safetensors');
      const deadline = Date.now() + 30_000;
      while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const { weights, meta } = decodeWeights(new Uint8Array(readFileSync(file)), file);
      expect(meta).toMatchObject({ model: 'nadaraya_watson', origin: 'trained 3' });
      expect(Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, Array.from(v.data)]))).toEqual(
        trained.tensors,
      );

      // Another model trains meanwhile; loading the file switches back to NW and draws its heatmap.
      await startFromForm(page, 'cls_mlp', '1');
      await logged(page, 'cls_mlp epoch 1/1');
      await idle(page);
      expect((await page.evaluate(() => window.demo.weights()))!.model).toBe('cls_mlp');
      await ((await page.$('#weightsFile')) as ElementHandle<HTMLInputElement>).uploadFile(file);
      await logged(page, 'loaded nadaraya_watson weights from nadaraya_watson.safetensors \\(1 tensor\\)');
      expect(await page.$eval('#model', (e) => (e as HTMLSelectElement).value)).toBe('nadaraya_watson');
      // Read back from the model the file went into: the same weights, and the same outputs (the heatmap).
      expect(await page.evaluate(() => window.demo.weights())).toEqual({ ...trained, loaded: true });
      const reloaded = (await page.evaluate(() => window.demo.heatmap()))!;
      expect(reloaded.values).toEqual(outputs.values);
      expect(reloaded.title).toBe('attention of test queries of the loaded weights');
      expect(live(await page.evaluate(() => window.demo.memory()))).toEqual(baseline);

      // The next run starts from them: its first epoch is the 4-epoch run's fourth.
      await startFromForm(page, 'nadaraya_watson', '1');
      await logged(page, 'nadaraya_watson starts from the weights loaded from nadaraya_watson.safetensors');
      const [, resumed] = await logged(page, 'nadaraya_watson epoch 1/1: loss ([\\d.]+)');
      expect(resumed).toBe(loss4);
      await idle(page);
      expect(live(await page.evaluate(() => window.demo.memory()))).toEqual(baseline);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  },
);
