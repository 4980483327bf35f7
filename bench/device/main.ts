/**
 * The device benchmark: a size profile (bench/device/cases.ts) in Node, ours under each kernel set against TF.js
 * and jax-js on one adapter, within a time budget. pack.ts bundles this file into the pack's bench.mjs, which
 * run.sh starts on the GPU machine; here it also runs as `npx vite-node bench/device/main.ts -- [options]`.
 *
 * Unlike bench/run.ts, a run on a borrowed machine must end on time and say as much as it can: the cases run in
 * the profile's priority order while the budget lasts (each one is predicted from the group's earlier cases and
 * skipped, with a note, when it would not fit), a case that fails is recorded and the run goes on (exit status 1
 * at the end), and the JSON and markdown are rewritten after every case, so that a run killed at its limit still
 * leaves everything before the case it was in (which the JSON names).
 *
 * Options:
 *   --profile NAME      size profile (default device)
 *   --quick             the profile's smallest sizes only
 *   --kernels a,b       our kernel sets (default software,hardware)
 *   --cases a,b         only these groups or id prefixes (as bench/run.ts's --cases)
 *   --budget S          seconds for the cases, startup excluded (default 420)
 *   --runs N            timed runs per variant (default 7)
 *   --warmup N          warm-up runs per variant (default 2)
 *   --out DIR           where the JSON and markdown go (default $OUT, else ./out)
 *   --probe             only print the adapter; exit 0 on a GPU, 3 on a CPU-emulated adapter, 2 with none
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AdapterReport, type Engine, init } from '../../src/index.js';
import { createEnv, destroyEnv } from '../harness/env.js';
import { parseKernelSets } from '../harness/kernels.js';
import type { CaseResult } from '../harness/measure.js';
import { adapterName, speedupLine } from '../harness/report.js';
import { runSuite, type SuiteMeta } from '../harness/suite.js';
import type { BenchCase } from '../harness/types.js';
import { profile, runOrder, type ProfileCase } from './cases.js';
import {
  deviceMarkdown,
  predictSeconds,
  type DeviceRunFile,
  type Done,
  type PackInfo,
  type Unmeasured,
} from './report.js';

const { values: args } = parseArgs({
  options: {
    profile: { type: 'string', default: 'device' },
    quick: { type: 'boolean', default: false },
    kernels: { type: 'string', default: 'software,hardware' },
    cases: { type: 'string', default: '' },
    budget: { type: 'string', default: '420' },
    runs: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    out: { type: 'string', default: process.env.OUT || 'out' },
    probe: { type: 'boolean', default: false },
  },
});

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const budgetS = Number(args.budget);
const runs = Number(args.runs);
const warmup = Number(args.warmup);
if (!(budgetS > 0)) throw new Error(`--budget must be a positive number of seconds, got ${args.budget}`);
if (!(Number.isInteger(runs) && runs >= 1))
  throw new Error(`--runs must be a positive integer, got ${args.runs}`);
if (!(Number.isInteger(warmup) && warmup >= 0))
  throw new Error(`--warmup must be a non-negative integer, got ${args.warmup}`);
const kernels = parseKernelSets(list(args.kernels));
const chosen = profile(args.profile);

/** `--cases` as bench/run.ts reads it: a group name, or an id prefix that reaches into the id's `/` part. */
function selected(all: ProfileCase[], names: string[]): ProfileCase[] {
  const matches = (c: BenchCase, n: string) => c.group === n || (n.includes('/') && c.id.startsWith(n));
  for (const n of names)
    if (!all.some((c) => matches(c.case, n)))
      throw new Error(`no case of profile ${chosen.name} matches "${n}"`);
  return names.length ? all.filter((c) => names.some((n) => matches(c.case, n))) : all;
}

const profileCases = selected(chosen.cases(args.quick), list(args.cases));
if (profileCases.length === 0) throw new Error('no case selected');
const reportOrder = profileCases.map((c) => c.case.id);

function packInfo(): PackInfo | undefined {
  // Beside the bundle in the pack; absent when this runs from the source tree.
  const file = new URL('./info.json', import.meta.url);
  return file.protocol === 'file:' && existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as PackInfo)
    : undefined;
}

/** From the pack, else (running from the source tree) the installed package. */
function jaxVersion(info: PackInfo | undefined): string | undefined {
  if (info) return info.jaxVersion;
  try {
    const pkg = readFileSync('node_modules/@jax-js/jax/package.json', 'utf8');
    return (JSON.parse(pkg) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function gitCommit(): string {
  try {
    const rev = execSync('git rev-parse --short HEAD', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const dirty = execSync('git status --porcelain --untracked-files=no', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return `${rev.trim()}${dirty.trim() ? ' (modified)' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Seconds since the cases started. */
const clock = (() => {
  let t0 = 0;
  return { start: () => (t0 = performance.now()), s: () => (performance.now() - t0) / 1000 };
})();

function adapterLine(engine: Engine): string {
  const a = engine.adapter as Partial<AdapterReport>;
  const fields = ['vendor', 'architecture', 'device', 'description'] as const;
  return `adapter: ${fields.map((k) => `${k}=${JSON.stringify(a[k] ?? '')}`).join(' ')} software=${String(a.software)} kernels=${a.kernels}`;
}

/** run.sh's check that Dawn finds the GPU (else it retries with the driver's ICD manifest). */
async function probe(): Promise<number> {
  let engine: Engine;
  try {
    engine = await init('webgpu');
  } catch (e) {
    console.log(`adapter: none (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    return 2;
  }
  console.log(adapterLine(engine));
  const software = (engine.adapter as Partial<AdapterReport>).software;
  engine.destroy();
  return software ? 3 : 0;
}

async function main(): Promise<number> {
  if (args.probe) return probe();
  const info = packInfo();
  const started = new Date();
  const env = await createEnv('node', args.quick);
  console.log(adapterLine(env.engine));
  console.log(`jax-js: ${env.jax ? 'running' : `not running (${env.jaxUnavailable ?? 'unknown'})`}`);
  const measure = { runs, warmup, ...(kernels ? { kernels } : {}) };
  const order = runOrder(profileCases);
  console.log(
    `profile ${chosen.name}${args.quick ? ' (quick)' : ''}: ${order.length} cases, budget ${budgetS} s, kernel sets ${(kernels ?? ['auto']).join(', ')}`,
  );

  const results = new Map<string, CaseResult>();
  const done: Done[] = [];
  const skipped: Unmeasured[] = [];
  const failed: Unmeasured[] = [];
  // The meta of a run of no case: the adapter, versions and method, whatever the cases do.
  const meta: SuiteMeta = {
    ...(await runSuite(env, [], measure)).meta,
    ...(jaxVersion(info) ? { jaxVersion: jaxVersion(info) } : {}),
  };
  const file = (running?: string): DeviceRunFile => ({
    run: {
      date: started.toISOString().slice(0, 10),
      timestamp: started.toISOString(),
      commit: info?.commit ?? gitCommit(),
      machine: `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}`,
      host: `node ${process.version}`,
    },
    meta,
    cases: reportOrder.flatMap((id) => results.get(id) ?? []),
    device: {
      profile: chosen.name,
      quick: args.quick,
      budgetS,
      elapsedS: Math.round(clock.s()),
      ...(running ? { running } : {}),
      skipped,
      failed,
      caseSeconds: Object.fromEntries(done.map((d) => [d.c.id, Math.round(d.seconds * 10) / 10])),
    },
  });
  const base = join(args.out, `device-${adapterName({ meta, cases: [] })}${args.quick ? '-quick' : ''}`);
  await mkdir(args.out, { recursive: true });
  const save = async (running?: string) => {
    const f = file(running);
    // Written whole, then renamed: a kill mid-write leaves the previous file.
    await writeFile(`${base}.json.tmp`, `${JSON.stringify(f, null, 1)}\n`);
    await rename(`${base}.json.tmp`, `${base}.json`);
    await writeFile(`${base}.md`, `${deviceMarkdown(f)}\n`);
    return f;
  };

  clock.start();
  try {
    for (const [i, c] of order.entries()) {
      const left = budgetS - clock.s();
      const need = predictSeconds(c, done);
      const at = `[${i + 1}/${order.length} ${clock.s().toFixed(0)} s]`;
      if (need > left) {
        const reason = `time budget: ${left.toFixed(0)} s left, about ${need.toFixed(0)} s needed`;
        skipped.push({ id: c.id, reason });
        console.log(`${at} ${c.id}: skipped (${reason})`);
        continue;
      }
      await save(c.id);
      const t0 = clock.s();
      try {
        const r = (await runSuite(env, [c], measure)).cases[0];
        results.set(c.id, r);
        // Failed cases say nothing about how long the next one takes.
        done.push({ c, seconds: clock.s() - t0 });
        console.log(`${at} ${c.id}: ${(clock.s() - t0).toFixed(1)} s; ${speedupLine(r)}`);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        failed.push({ id: c.id, reason });
        console.log(`${at} ${c.id}: FAILED after ${(clock.s() - t0).toFixed(1)} s: ${reason}`);
      }
    }
  } finally {
    const f = await save();
    console.log(`\n${deviceMarkdown(f)}\nwrote ${base}.json and ${base}.md`);
    destroyEnv(env);
  }
  return failed.length ? 1 : 0;
}

// Dawn's instance keeps Node alive: exit explicitly.
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`\nDEVICE BENCHMARK FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(2);
  },
);
