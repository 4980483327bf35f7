/**
 * `npm run bench [-- options]`: the benchmark suite, ours vs TensorFlow.js's and jax-js's WebGPU backends on the
 * same adapter, in Node (Dawn) and in headless Chrome. Every case is validated against the CPU reference before it
 * is timed; a mismatch aborts the run with a non-zero exit (a peer that cannot run a case is noted instead).
 *
 * Options:
 *   --quick             only the smallest sizes (CI runs this: it checks validity, not speed)
 *   --cases a,b         groups or id prefixes: matmul, masked-softmax, sdpa-fwd, sdpa-fwd-bwd, additive-fwd-bwd, …
 *   --sizes 128,512     only cases whose main size is listed
 *   --max-size N        only cases whose main size is at most N (e.g. 512 for a slow software adapter)
 *   --peer-max-size N   above this main size, cases that can leave the peers out run ours only (attention: TF.js
 *                       on SwiftShader takes minutes per run at L = 1024)
 *   --runs N            timed runs per variant (at least 7; default 7)
 *   --warmup N          warm-up runs per variant (default 2)
 *   --kernels a,b       our kernel sets to run, each as its own labelled variants: software, hardware, auto
 *                       (default: the adapter's own set only, unlabelled)
 *   --target node,chrome  where to run (default both)
 *   --chrome PATH       Chrome/Chromium binary (default $CHROME_PATH, else /usr/bin/chromium)
 *   --results-md        only rewrite bench/RESULTS.md from the runs in bench/results, run nothing
 *   --out DIR           where results go (default bench/results); bench/RESULTS.md is rewritten from the latest
 *                       non-quick run of each runtime when the results go to the default directory
 */
import { SingleBar, Presets } from 'cli-progress';
import { execSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writePng } from '../src/plot/write.js';
import { allCases, selectCases } from './cases/index.js';
import { runInChrome } from './harness/chrome.js';
import { measureCpuPeak, type CpuPeak } from './harness/cpu_peak.js';
import { createEnv, destroyEnv } from './harness/env.js';
import { parseKernelSets } from './harness/kernels.js';
import { adapterName, markdown, speedupChart, type RunFile, type RunInfo } from './harness/report.js';
import { runSuite, type SuiteResult } from './harness/suite.js';

const DEFAULT_OUT = 'bench/results';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'results-md': { type: 'boolean', default: false },
    cases: { type: 'string', default: '' },
    sizes: { type: 'string', default: '' },
    'max-size': { type: 'string', default: 'Infinity' },
    'peer-max-size': { type: 'string', default: 'Infinity' },
    runs: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    target: { type: 'string', default: 'node,chrome' },
    kernels: { type: 'string', default: '' },
    chrome: {
      type: 'string',
      default: process.env.CHROME_PATH ?? process.env.CHROMIUM ?? '/usr/bin/chromium',
    },
    out: { type: 'string', default: DEFAULT_OUT },
  },
});

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const runs = Number(args.runs);
const warmup = Number(args.warmup);
if (!(Number.isInteger(runs) && runs >= 7))
  throw new Error(`--runs must be an integer >= 7, got ${args.runs}`);
if (!(Number.isInteger(warmup) && warmup >= 1))
  throw new Error(`--warmup must be an integer >= 1, got ${args.warmup}`);
const targets = list(args.target);
for (const t of targets)
  if (t !== 'node' && t !== 'chrome') throw new Error(`--target: node or chrome, got ${t}`);
const sizes = list(args.sizes).map(Number);
const maxSize = Number(args['max-size']);
if (!(maxSize > 0)) throw new Error(`--max-size must be a positive number, got ${args['max-size']}`);
const peerMaxSize = Number(args['peer-max-size']);
if (!(peerMaxSize > 0))
  throw new Error(`--peer-max-size must be a positive number, got ${args['peer-max-size']}`);
const kernels = parseKernelSets(list(args.kernels));
const options = {
  quick: args.quick,
  cases: list(args.cases),
  sizes,
  maxSize,
  runs,
  warmup,
  ...(kernels ? { kernels } : {}),
};
const cases = selectCases(options);
if (cases.length === 0) throw new Error('no benchmark case selected');
const writesResultsMd = !args.quick && args.out === DEFAULT_OUT;

function git(cmd: string): string {
  try {
    return execSync(`git ${cmd}`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const commit = `${git('rev-parse --short HEAD')}${git('status --porcelain --untracked-files=no') ? ' (modified)' : ''}`;
const machine = `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}`;
const started = new Date();
let cpuPeak: CpuPeak | undefined;
const date = started.toISOString().slice(0, 10);
const timestamp = started.toISOString();

/** The installed jax-js (its package exports no version, and the page is built from the same node_modules). */
async function jaxVersion(): Promise<string | undefined> {
  try {
    const pkg = JSON.parse(await readFile('node_modules/@jax-js/jax/package.json', 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return undefined;
  }
}

async function save(result: SuiteResult, host: string): Promise<string> {
  const run: RunInfo = { date, timestamp, commit, machine, host, ...(cpuPeak ? { cpuPeak } : {}) };
  const file: RunFile = { run, ...result, meta: { ...result.meta, jaxVersion: await jaxVersion() } };
  const base = join(
    args.out,
    // The time too, so that a second run on one day keeps the first (RESULTS.md merges the newest of each group).
    `${date}T${timestamp.slice(11, 16).replace(':', '')}-${adapterName(result)}-${result.meta.runtime === 'node' ? 'node' : 'chrome'}${args.quick ? '-quick' : ''}`,
  );
  await mkdir(args.out, { recursive: true });
  await writeFile(`${base}.json`, `${JSON.stringify(file, null, 1)}\n`);
  const md = markdown(file);
  await writeFile(`${base}.md`, `${md}\n`);
  await writePng(`${base}.png`, speedupChart(file));
  console.log(`\n${md}\nwrote ${base}.json, .md and .png`);
  return base;
}

/**
 * RESULTS.md from the JSON files kept in bench/results: per runtime, each case's newest non-quick run (a run of
 * some cases only, say after optimising matmul, replaces those and keeps the others).
 */
async function writeResultsMd(): Promise<void> {
  const files: RunFile[] = [];
  for (const n of await readdir(DEFAULT_OUT))
    if (n.endsWith('.json') && !n.includes('-quick'))
      files.push(JSON.parse(await readFile(join(DEFAULT_OUT, n), 'utf8')) as RunFile);
  const when = (f: RunFile) => f.run.timestamp ?? f.run.date;
  files.sort((a, b) => (when(a) < when(b) ? -1 : when(a) > when(b) ? 1 : 0));
  const sections: string[] = [];
  for (const runtime of ['node', 'browser'] as const) {
    const runs = files.filter((f) => f.meta.runtime === runtime);
    if (runs.length === 0) continue;
    const newest = runs.at(-1)!;
    // Per case, the newest run that measured it; a group lists the runs it draws on.
    const from: Record<string, RunInfo[]> = {};
    const cases = [];
    for (const c of allCases) {
      const source = runs.findLast((f) => f.cases.some((r) => r.id === c.id));
      if (!source) continue;
      cases.push(source.cases.find((r) => r.id === c.id)!);
      const list = (from[c.group] ??= []);
      if (!list.includes(source.run)) list.push(source.run);
    }
    sections.push(markdown({ ...newest, cases }, from));
  }
  await writeFile(
    'bench/RESULTS.md',
    [
      '# Benchmark results',
      '',
      'Written by `npm run bench`: per runtime, the newest non-quick run of each case (a group drawn from other runs',
      'than the newest says so). The JSON of each run, with every sample, and a chart of its speedups are in',
      '`bench/results/`.',
      'Software adapters (lavapipe, SwiftShader) are slow and noisy: read the ratios, not the absolute times.',
      'Runs from before jax-js joined the suite compare with TF.js only.',
      '',
      ...sections,
    ].join('\n'),
  );
  console.log('wrote bench/RESULTS.md');
}

async function main(): Promise<void> {
  if (args['results-md']) {
    await writeResultsMd();
    return;
  }
  const measure = { runs, warmup, ...(kernels ? { kernels } : {}) };
  // Before any suite, so that both cores are idle; the same machine serves Node and Chrome.
  cpuPeak = await measureCpuPeak();
  console.log(
    'gflops' in cpuPeak
      ? `CPU FP32 FMA peak: ${cpuPeak.gflops.toFixed(1)} GFLOP/s (${cpuPeak.threads} threads)`
      : `CPU FP32 FMA peak not measured: ${cpuPeak.unavailable}`,
  );
  if (targets.includes('node')) {
    console.log(`Node: ${cases.length} cases`);
    const env = await createEnv('node', args.quick, peerMaxSize);
    const bar = new SingleBar(
      // In CI logs (no TTY) too, every 10 s.
      { format: 'node {bar} {value}/{total} {case}', noTTYOutput: true, notTTYSchedule: 10_000 },
      Presets.shades_classic,
    );
    bar.start(cases.length, 0, { case: '' });
    try {
      const result = await runSuite(env, cases, measure, (c, i) => bar.update(i + 1, { case: c.id }));
      bar.stop();
      await save(result, `node ${process.version}`);
    } finally {
      bar.stop();
      destroyEnv(env);
    }
  }
  if (targets.includes('chrome')) {
    console.log(`Chrome (${args.chrome}): ${cases.length} cases`);
    const pageOptions = { ...options, ...(peerMaxSize < Infinity ? { peerMaxSize } : {}) };
    const { result, browser } = await runInChrome(args.chrome, pageOptions, (line) =>
      console.log(`  chrome ${line}`),
    );
    await save(result, browser);
  }
  if (writesResultsMd) await writeResultsMd();
}

// Dawn's instance keeps Node alive: exit explicitly, non-zero when a case failed validation or could not run.
main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`\nBENCHMARK FAILED: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
