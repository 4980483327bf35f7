/**
 * Times one case: setup, a cold run of each variant (pipeline compilation included), validation against the
 * CPU reference (a mismatch throws and aborts the suite), warm-up, then `runs` rounds in which every variant
 * runs once, the order rotating each round so that no variant always follows the same neighbour. Each run is
 * bracketed by waits for both libraries' queues to be idle.
 */
import { sync } from './env.js';
import type { BenchCase, BenchEnv, Library, Variant } from './types.js';

export interface VariantResult {
  name: string;
  library: Library;
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
}

export interface CaseResult {
  id: string;
  group: string;
  params: Record<string, number | string | boolean>;
  flops?: number;
  bytes?: number;
  validated: boolean;
  variants: VariantResult[];
  /** For each of our variants: the TF.js median over ours (> 1: ours is faster). */
  speedup: Record<string, number>;
}

export interface MeasureOptions {
  warmup: number;
  runs: number;
}

async function timeOnce(env: BenchEnv, v: Variant): Promise<number> {
  await Promise.all([sync(env, 'ours'), sync(env, 'tfjs')]);
  const t0 = performance.now();
  v.run();
  await sync(env, v.library);
  return performance.now() - t0;
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

/** Runs one case; throws (after freeing it) when validation fails. */
export async function measureCase(c: BenchCase, env: BenchEnv, opts: MeasureOptions): Promise<CaseResult> {
  const inst = await c.setup(env);
  try {
    const { variants } = inst;
    const cold: number[] = [];
    for (const v of variants) cold.push(await timeOnce(env, v));
    await inst.validate();
    for (let w = 0; w < opts.warmup; w++) for (const v of variants) await timeOnce(env, v);
    const samples: number[][] = variants.map(() => []);
    for (let r = 0; r < opts.runs; r++)
      for (let j = 0; j < variants.length; j++) {
        const i = (j + r) % variants.length;
        samples[i].push(await timeOnce(env, variants[i]));
      }
    const results = variants.map((v, i): VariantResult => {
      const med = median(samples[i]);
      const s = sorted(samples[i]);
      return {
        name: v.name,
        library: v.library,
        coldMs: cold[i],
        compileMs: Math.max(0, cold[i] - med),
        samplesMs: samples[i],
        medianMs: med,
        minMs: s[0],
        maxMs: s.at(-1)!,
        ...(c.flops ? { gflops: c.flops / med / 1e6 } : {}),
        ...(c.bytes ? { gbps: c.bytes / med / 1e6 } : {}),
      };
    });
    const peer = results.find((r) => r.library === 'tfjs');
    const speedup: Record<string, number> = {};
    if (peer) for (const r of results) if (r.library === 'ours') speedup[r.name] = peer.medianMs / r.medianMs;
    return {
      id: c.id,
      group: c.group,
      params: c.params,
      flops: c.flops,
      bytes: c.bytes,
      validated: true,
      variants: results,
      speedup,
    };
  } finally {
    inst.dispose();
  }
}
