/**
 * `npm run bench [-- options]`: the benchmark suite, ours vs TensorFlow.js's WebGPU backend on the same adapter,
 * in Node (Dawn) and in headless Chrome. Every case is validated against the CPU reference before it is timed;
 * a mismatch aborts the run with a non-zero exit.
 *
 * Options:
 *   --quick             only the smallest sizes (CI runs this: it checks validity, not speed)
 *   --cases a,b         groups or id prefixes: matmul, masked-softmax, sdpa-fwd, sdpa-fwd-bwd, additive-fwd-bwd, …
 *   --sizes 128,512     only cases whose main size is listed
 *   --max-size N        only cases whose main size is at most N (e.g. 512 for a slow software adapter)
 *   --runs N            timed runs per variant (at least 7; default 7)
 *   --warmup N          warm-up runs per variant (default 2)
 *   --target node,chrome  where to run (default both)
 *   --chrome PATH       Chrome/Chromium binary (default $CHROME_PATH, else /usr/bin/chromium)
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
import { selectCases } from './cases/index.js';
import { runInChrome } from './harness/chrome.js';
import { createEnv, destroyEnv } from './harness/env.js';
import { adapterName, markdown, speedupChart, type RunFile, type RunInfo } from './harness/report.js';
import { runSuite, type SuiteResult } from './harness/suite.js';

const DEFAULT_OUT = 'bench/results';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    cases: { type: 'string', default: '' },
    sizes: { type: 'string', default: '' },
    'max-size': { type: 'string', default: 'Infinity' },
    runs: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    target: { type: 'string', default: 'node,chrome' },
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
const options = { quick: args.quick, cases: list(args.cases), sizes, maxSize, runs, warmup };
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
const date = new Date().toISOString().slice(0, 10);

async function save(result: SuiteResult, host: string): Promise<string> {
  const run: RunInfo = { date, commit, machine, host };
  const file: RunFile = { run, ...result };
  const base = join(
    args.out,
    `${date}-${adapterName(result)}-${result.meta.runtime === 'node' ? 'node' : 'chrome'}${args.quick ? '-quick' : ''}`,
  );
  await mkdir(args.out, { recursive: true });
  await writeFile(`${base}.json`, `${JSON.stringify(file, null, 1)}\n`);
  const md = markdown(file);
  await writeFile(`${base}.md`, `${md}\n`);
  await writePng(`${base}.png`, speedupChart(file));
  console.log(`\n${md}\nwrote ${base}.json, .md and .png`);
  return base;
}

/** RESULTS.md: the latest full run of each runtime, from the JSON files kept in bench/results. */
async function writeResultsMd(): Promise<void> {
  const names = (await readdir(DEFAULT_OUT))
    .filter((n) => n.endsWith('.json') && !n.includes('-quick'))
    .sort();
  const latest = new Map<string, RunFile>();
  for (const n of names) {
    const f = JSON.parse(await readFile(join(DEFAULT_OUT, n), 'utf8')) as RunFile;
    latest.set(f.meta.runtime, f);
  }
  const sections = [...latest.values()].map(markdown);
  await writeFile(
    'bench/RESULTS.md',
    [
      '# Benchmark results',
      '',
      'Written by `npm run bench`. Each section is the latest non-quick run on that runtime (its header says which',
      'cases ran); the JSON with every sample and a chart of the speedups sit beside it in `bench/results/`.',
      'Software adapters (lavapipe, SwiftShader) are slow and noisy: read the ratios, not the absolute times.',
      '',
      ...sections,
    ].join('\n'),
  );
  console.log('wrote bench/RESULTS.md');
}

async function main(): Promise<void> {
  const measure = { runs, warmup };
  if (targets.includes('node')) {
    console.log(`Node: ${cases.length} cases`);
    const env = await createEnv('node', args.quick);
    const bar = new SingleBar({ format: 'node {bar} {value}/{total} {case}' }, Presets.shades_classic);
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
    const { result, browser } = await runInChrome(args.chrome, options, (line) =>
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
