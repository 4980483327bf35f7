/**
 * Times one case: setup, a cold run of each variant (pipeline compilation included), validation against the
 * CPU reference (a mismatch throws and aborts the suite), warm-up, then `runs` rounds in which every variant
 * runs once, the order rotating each round so that no variant always follows the same neighbour. Each run is
 * bracketed by waits for every library's queue to be idle.
 */
import type { KernelChoice, KernelSet } from '../../src/index.js';
import { libraries, sync } from './env.js';
import { prepareCase, type PreparedCase } from './prepare.js';
import { PEERS, type BenchCase, type BenchEnv, type Library, type Peer, type Variant } from './types.js';

export interface VariantResult {
  name: string;
  library: Library;
  /** The kernel set an `ours` variant ran under. */
  kernels?: KernelSet;
  /** The first run (ms): pipeline compilation, first uploads and the run itself. */
  coldMs: number;
  /** Cold run minus the steady-state median (ms): roughly the one-off compile cost. */
  compileMs: number;
  /** Steady-state samples (ms), in run order. */
  samplesMs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  gflops?: number;
  gbps?: number;
  /**
   * Ours only: the most GPU memory (bytes) one run held at once beyond what was live before it (the engine pool's
   * in-use peak): inputs excluded, outputs, gradients and intermediates included.
   */
  peakBytes?: number;
}

/** Per peer, for each of our variants: the peer's median over ours (> 1: ours is faster). */
export type Speedups = Partial<Record<Peer, Record<string, number>>>;

export interface CaseResult {
  id: string;
  group: string;
  params: Record<string, number | string | boolean>;
  flops?: number;
  bytes?: number;
  validated: boolean;
  variants: VariantResult[];
  speedups: Speedups;
  /** Peers that did not run this case, and why. */
  unavailable?: Partial<Record<Peer, string>>;
  /** Runs before jax-js joined: the speedups over TF.js only (read through `speedupsOf` in report.ts). */
  speedup?: Record<string, number>;
}

export interface MeasureOptions {
  warmup: number;
  runs: number;
  /** Kernel sets to run our variants under, each labelled; absent: the adapter's own set, unlabelled. */
  kernels?: KernelChoice[];
}

async function timeOnce(env: BenchEnv, v: Variant): Promise<number> {
  await Promise.all(libraries(env).map((l) => sync(env, l)));
  const t0 = performance.now();
  await v.run();
  await sync(env, v.library);
  return performance.now() - t0;
}

/** One timed run; null when it failed and `fail` dropped the variant's peer. */
async function tryTime(env: BenchEnv, p: PreparedCase, v: Variant): Promise<number | null> {
  try {
    return await timeOnce(env, v);
  } catch (e) {
    p.fail(v, e);
    return null;
  }
}

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** The median (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function speedups(results: VariantResult[]): Speedups {
  const out: Speedups = {};
  for (const peer of PEERS) {
    const p = results.find((r) => r.library === peer);
    if (p)
      out[peer] = Object.fromEntries(
        results.filter((r) => r.library === 'ours').map((r) => [r.name, p.medianMs / r.medianMs]),
      );
  }
  return out;
}

/** Runs one case; throws (after freeing it) when validation fails. */
export async function measureCase(c: BenchCase, env: BenchEnv, opts: MeasureOptions): Promise<CaseResult> {
  const p = await prepareCase(c, env, opts.kernels);
  try {
    const cold = new Map<Variant, number>();
    for (const v of p.variants) {
      if (!p.variants.includes(v)) continue;
      const t = await tryTime(env, p, v);
      if (t !== null) cold.set(v, t);
    }
    await p.validate();
    const peaks = new Map<Variant, number>();
    const pool = env.engine.pool;
    for (const v of p.variants)
      if (v.library === 'ours' && pool) {
        await sync(env, 'ours');
        const before = pool.stats().inUseBytes;
        pool.resetPeak();
        if ((await tryTime(env, p, v)) !== null) peaks.set(v, pool.stats().peakBytes - before);
      }
    for (let w = 0; w < opts.warmup; w++) for (const v of p.variants) await tryTime(env, p, v);
    const samples = new Map<Variant, number[]>();
    for (let r = 0; r < opts.runs; r++) {
      const variants = p.variants;
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(j + r) % variants.length];
        const t = p.variants.includes(v) ? await tryTime(env, p, v) : null;
        if (t !== null) samples.set(v, [...(samples.get(v) ?? []), t]);
      }
    }
    const results = p.variants.map((v): VariantResult => {
      const xs = samples.get(v)!;
      const med = median(xs);
      const s = sorted(xs);
      const first = cold.get(v)!;
      return {
        name: v.name,
        library: v.library,
        ...(v.kernels ? { kernels: v.kernels } : {}),
        coldMs: first,
        compileMs: Math.max(0, first - med),
        samplesMs: xs,
        medianMs: med,
        minMs: s[0],
        maxMs: s.at(-1)!,
        ...(c.flops ? { gflops: c.flops / med / 1e6 } : {}),
        ...(c.bytes ? { gbps: c.bytes / med / 1e6 } : {}),
        ...(peaks.has(v) ? { peakBytes: peaks.get(v) } : {}),
      };
    });
    return {
      id: c.id,
      group: c.group,
      params: c.params,
      flops: c.flops,
      bytes: c.bytes,
      validated: true,
      variants: results,
      speedups: speedups(results),
      ...(Object.keys(p.unavailable).length ? { unavailable: { ...p.unavailable } } : {}),
    };
  } finally {
    p.dispose();
  }
}
