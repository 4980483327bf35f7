/**
 * The npm package as a user gets it: `npm run build`, `npm pack`, the tarball unpacked into a throwaway project
 * with what `npm install` would add beside it (offline: the package's dependencies and theirs, symlinked from
 * this checkout, and nothing else), then
 * - its dependencies checked against what dist/ imports, both ways, so a web app installs no plotting or CLI code;
 * - its declarations type-checked by `tsc` as a consumer's (strict, skipLibCheck off) under
 *   `moduleResolution` NodeNext (the `node` condition) and Bundler (the browser types);
 * - imported in Node (the `node` condition, Dawn) to train one NW epoch;
 * - bundled by vite for a page (the `browser` condition) without a `node:` import or a warning, and run in
 *   headless Chromium: a matmul checked against a float64 CPU product.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build, createLogger, preview } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from './browser.js';

const repo = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'pkg-'));
const modules = join(dir, 'node_modules');
const pkgDir = join(modules, 'webgpu-attention');
const run = (cmd: string, args: string[], cwd = repo) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** What the build printed: the README quotes its browser bundle size. */
let buildLog = '';
/** The packages installed beside webgpu-attention, by name. */
let installed: string[] = [];

beforeAll(() => {
  buildLog = run('npm', ['run', 'build']);
  const tarball = run('npm', ['pack', '--pack-destination', dir]).trim().split('\n').pop()!;
  mkdirSync(pkgDir, { recursive: true });
  run('tar', ['-xzf', join(dir, tarball), '-C', pkgDir, '--strip-components=1']);
  installed = dependencyClosure(pkgDir);
  for (const name of installed) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The packages `npm install` puts in the consumer's node_modules for `root`: its dependencies, theirs, and so on
 * (optional ones where this checkout has them, peers as npm ≥ 7 adds them), resolved as Node resolves them from
 * where each package sits in this checkout's node_modules. A copy nested under another package travels with it.
 */
function dependencyClosure(root: string): string[] {
  const top = new Set<string>();
  const visit = (from: string) => {
    const pkg = readJson(join(from, 'package.json'));
    const optional = new Set([
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(pkg.peerDependenciesMeta ?? {}),
    ]);
    const names = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });
    for (const name of names) {
      let found: string | undefined;
      for (let d = from.startsWith(repo) ? from : repo; d.startsWith(repo) && !found; d = dirname(d))
        if (existsSync(join(d, 'node_modules', name, 'package.json'))) found = join(d, 'node_modules', name);
      if (!found) {
        if (optional.has(name)) continue;
        throw new Error(`${name}, a dependency of ${pkg.name}, is not installed in this checkout`);
      }
      const isTop = found === join(repo, 'node_modules', name);
      if (isTop && top.has(name)) continue;
      if (isTop) top.add(name);
      visit(found);
    }
  };
  visit(root);
  return [...top].sort();
}

/**
 * The modules a file imports: `import … from`, `export … from`, `import('…')`, a `/// <reference types>`, and
 * `import(name)` of a string constant (how src/runtime/device.ts loads Dawn without a bundler following it).
 */
function specifiers(code: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^'"]*?\sfrom\s*["']([^"'\s]+)["']/gm,
    /^\s*import\s*["']([^"'\s]+)["']/gm,
    /\bimport\(\s*(?:\/\*[^*]*\*\/\s*)?["']([^"'\s]+)["']\s*\)/g,
    /\/\/\/\s*<reference\s+types=["']([^"']+)["']/g,
    /\bconst\s+(?<var>\w+)\s*=\s*["']([^"'\s]+)["'];[\s\S]{0,300}?\bimport\(\s*(?:\/\*[^*]*\*\/\s*)?\k<var>\s*\)/g,
  ];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[m.length - 1]));
}

const isNodeBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec);

/** The packages that the .js and .d.ts files under `root` import (relative paths and Node built-ins left out). */
function importedPackages(root: string): string[] {
  const found = new Set<string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const file = join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (/\.(js|d\.ts)$/.test(name))
        for (const spec of specifiers(readFileSync(file, 'utf8')))
          if (!spec.startsWith('.') && !isNodeBuiltin(spec))
            found.add(
              spec
                .split('/')
                .slice(0, spec.startsWith('@') ? 2 : 1)
                .join('/'),
            );
    }
  };
  walk(root);
  return [...found].sort();
}

it('depends on exactly what dist/ imports, and a web app installs no plotting or CLI code', () => {
  const pkg = readJson(join(pkgDir, 'package.json'));
  expect(importedPackages(join(pkgDir, 'dist'))).toEqual(Object.keys(pkg.dependencies).sort());
  expect(pkg.optionalDependencies ?? {}).toEqual({});
  expect(pkg.peerDependencies ?? {}).toEqual({});
  for (const name of installed) expect(name).not.toMatch(/^(vega|@resvg\/|cli-progress$)/);
});

it.each([
  ['NodeNext', 'NodeNext'],
  ['Bundler', 'ESNext'],
])('type-checks in a consumer with moduleResolution %s, strict, skipLibCheck off', (resolution, module) => {
  // The Bundler consumer gets the browser types (the `default` condition); the Node-only helpers are not in them.
  const app =
    resolution === 'NodeNext'
      ? `import { init, matmul, tensor, readFraEng, saveCheckpoint, type Engine } from 'webgpu-attention';
         const engine: Engine = await init('webgpu');
         const y = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
         console.log(await y.data(), engine.adapter, typeof readFraEng, typeof saveCheckpoint);`
      : `import { init, matmul, tensor, type Engine } from 'webgpu-attention';
         // @ts-expect-error: readFraEng reads a file, so only the node entry has it.
         import { readFraEng } from 'webgpu-attention';
         const engine: Engine = await init('webgpu');
         const y = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
         console.log(await y.data(), engine.adapter, readFraEng);`;
  const name = `app_${resolution.toLowerCase()}`;
  writeFileSync(join(dir, `${name}.ts`), app);
  const compilerOptions = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: 'ES2022',
    module,
    moduleResolution: resolution,
  };
  writeFileSync(
    join(dir, `tsconfig.${name}.json`),
    JSON.stringify({ compilerOptions, files: [`${name}.ts`] }),
  );
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  let out: string;
  try {
    out = run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`, '--pretty', 'false'], dir);
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(out.trim()).toBe('');
});

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

it('has a browser entry that imports no Node module, and the README quotes its size', () => {
  // dist/browser.js and every chunk it loads, statically or with import().
  const seen = new Set<string>();
  const nodeImports: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (isNodeBuiltin(spec)) nodeImports.push(`${file}: ${spec}`);
    }
  };
  visit(join(pkgDir, 'dist', 'browser.js'));
  expect(seen.size).toBeGreaterThan(1);
  expect(nodeImports).toEqual([]);
  // vite.config.ts prints `browser bundle (browser.js + chunks): … KiB, gzip N KiB`; the README says "about N KiB
  // gzip", within 5% so that it need not change with every kernel.
  const printed = Number(
    /browser bundle \(browser\.js \+ chunks\): [\d.]+ KiB, gzip ([\d.]+) KiB/.exec(buildLog)?.[1],
  );
  const quoted = Number(
    /about\s+([\d.]+)\s+KiB\s+gzip/.exec(readFileSync(join(repo, 'README.md'), 'utf8'))?.[1],
  );
  expect(printed).toBeGreaterThan(0);
  expect(
    Math.abs(quoted / printed - 1),
    `README says ${quoted} KiB gzip, the build printed ${printed}`,
  ).toBeLessThan(0.05);
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
  // Every warning vite prints, such as 'Module "node:fs/promises" has been externalized for browser compatibility'.
  const warnings: string[] = [];
  const logger = createLogger('warn');
  logger.warn = (msg) => void warnings.push(msg);
  logger.warnOnce = logger.warn;
  const output = await build({
    root: page,
    configFile: false,
    customLogger: logger,
    build: { outDir, emptyOutDir: true },
  });
  expect(warnings).toEqual([]);
  const code = JSON.stringify(output);
  // Module specifiers only: `node:` also occurs as an object key in minified code ({node: d}).
  expect(code).not.toMatch(/from\s*["']webgpu["']|["']node:[\w/.-]+["']/);
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
