/**
 * The npm package as a user gets it: `npm run build`, `npm pack`, the tarball unpacked into a throwaway project
 * (offline: its dependencies are symlinked from this checkout), then imported in Node (the `node` condition,
 * Dawn) to train one NW epoch, and bundled by vite for a page (the `browser` condition) that runs a matmul
 * in headless Chromium, checked against a float64 CPU product.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, preview } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from './browser.js';

const repo = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'pkg-'));
const run = (cmd: string, args: string[], cwd = repo) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  run('npm', ['run', 'build']);
  const tarball = run('npm', ['pack', '--pack-destination', dir]).trim().split('\n').pop()!;
  const modules = join(dir, 'node_modules');
  const pkgDir = join(modules, 'webgpu-attention');
  mkdirSync(pkgDir, { recursive: true });
  run('tar', ['-xzf', join(dir, tarball), '-C', pkgDir, '--strip-components=1']);
  for (const name of readdirSync(join(repo, 'node_modules')))
    if (name !== '.bin' && name !== 'webgpu-attention')
      symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('imports in Node and trains one Nadaraya-Watson epoch', () => {
  const script = `
    import { init, trainNadarayaWatson } from 'webgpu-attention';
    const engine = await init('webgpu');
    const r = await trainNadarayaWatson({ epochs: 1 });
    console.log(JSON.stringify({ w: r.w, runtime: engine.adapter.runtime }));
    engine.destroy();
    process.exit(0);`;
  writeFileSync(join(dir, 'node.mjs'), script);
  const out = JSON.parse(run('node', ['node.mjs'], dir).trim().split('\n').pop()!);
  expect(out.runtime).toBe('node');
  expect(Number.isFinite(out.w)).toBe(true);
});

it('bundles for the browser without Dawn and runs a matmul in Chromium', { timeout: 120_000 }, async () => {
  const page = join(dir, 'page');
  mkdirSync(page);
  writeFileSync(join(page, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
  writeFileSync(
    join(page, 'main.js'),
    `import { init, matmul, tensor } from 'webgpu-attention';
     window.result = (async () => {
       await init('webgpu');
       const a = tensor(${JSON.stringify(A)});
       const b = tensor(${JSON.stringify(B)});
       return Array.from(await matmul(a, b).data());
     })().catch((e) => String(e));`,
  );
  const outDir = join(dir, 'page-dist');
  const output = await build({
    root: page,
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  const code = JSON.stringify(output);
  expect(code).not.toMatch(/from ["']webgpu["']|node:fs/);
  const server = await preview({
    root: page,
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0 },
  });
  const { browser, close } = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.goto(server.resolvedUrls!.local[0]);
    const got = (await tab.evaluate('window.result')) as number[] | string;
    expect(Array.isArray(got), String(got)).toBe(true);
    const want = A.flatMap((row) => B[0].map((_, j) => row.reduce((s, x, k) => s + x * B[k][j], 0)));
    expect(got).toHaveLength(want.length);
    (got as number[]).forEach((g, i) => expect(g).toBeCloseTo(want[i], 4));
  } finally {
    await close();
    await server.close();
  }
});

const A = [
  [0.5, -1.25, 2, 0.75],
  [1.5, 0.25, -0.5, 3],
  [-2, 1, 0.125, -0.25],
];
const B = [
  [1, 2, -1, 0.5, 0.25],
  [0.5, -0.5, 1.5, 2, -1],
  [-1, 0.25, 0.75, 1, 2],
  [2, 1, -0.5, -2, 0.5],
];
