/**
 * What a benchmark case is. A case builds its inputs once, validates every variant's output against the
 * CPU reference (throwing on a mismatch, which aborts the suite), and then the harness times its variants
 * interleaved in one process: warm-up, then `runs` rounds of "each variant once", so the ours / peer ratio
 * survives the noise of a shared machine.
 */
import type * as tfjs from '@tensorflow/tfjs-core';
import type { Engine } from '../../src/runtime/engine.js';

export type TF = typeof tfjs;

/** The library a variant belongs to; the harness syncs each with its own queue. */
export type Library = 'ours' | 'tfjs';

/** Both libraries, ready on the same adapter. */
export interface BenchEnv {
  engine: Engine;
  tf: TF;
  /** `'node'` (Dawn) or `'browser'` (Chrome). */
  runtime: 'node' | 'browser';
  quick: boolean;
}

/** One way of computing the case: ours fused, ours unfused, TF.js composed, … */
export interface Variant {
  /** Shown in tables: `'ours fused'`, `'ours unfused'`, `'ours replay'`, `'tfjs'`. */
  name: string;
  library: Library;
  /**
   * Records (does not wait for) one iteration's GPU work. Must free what it allocates (use `engine.tidy`
   * or `tf.tidy`): the harness calls it hundreds of times. The harness submits and waits after it.
   */
  run(): void;
}

/** A case after `setup`: its tensors are allocated and its variants ready to run. */
export interface CaseInstance {
  variants: Variant[];
  /**
   * Runs every variant once and compares its output with the float64 CPU reference (on a slice of the
   * batch where the full reference would take minutes). Throws an Error naming the variant, the output
   * and the error on a mismatch.
   */
  validate(): Promise<void>;
  /** Frees the case's tensors in both libraries. */
  dispose(): void;
}

export interface BenchCase {
  /** Group, for `--cases` filtering and for tables: `'matmul'`, `'sdpa-fwd'`, `'train-step'`, … */
  group: string;
  /** Unique, stable id: `'matmul/512x512x512'`. */
  id: string;
  /** Sizes and options, written into the results. */
  params: Record<string, number | string | boolean>;
  /** Floating-point operations of one iteration (for GFLOP/s), when meaningful. */
  flops?: number;
  /** Bytes that one iteration must at least read and write (for GB/s of memory-bound cases). */
  bytes?: number;
  /** Included in `--quick` (the smallest sizes, run by CI so that the suite cannot rot). */
  quick: boolean;
  setup(env: BenchEnv): Promise<CaseInstance>;
}
