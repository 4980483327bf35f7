/**
 * What a benchmark case is. A case builds its inputs once, validates every variant's output against the
 * CPU reference (throwing on a mismatch, which aborts the suite), and then the harness times its variants
 * interleaved in one process: warm-up, then `runs` rounds of "each variant once", so the ours / peer ratio
 * survives the noise of a shared machine.
 */
import type * as jaxjs from '@jax-js/jax';
import type * as tfjs from '@tensorflow/tfjs-core';
import type { Engine, KernelSet } from '../../src/index.js';

export type TF = typeof tfjs;
export type Jax = typeof jaxjs;

/** The library a variant belongs to; the harness syncs each with its own queue. */
export type Library = 'ours' | 'tfjs' | 'jax';

/** The libraries we are compared with. */
export type Peer = Exclude<Library, 'ours'>;

export const PEERS: readonly Peer[] = ['tfjs', 'jax'];

/** How tables and charts name a peer. */
export const PEER_NAMES: Readonly<Record<Peer, string>> = { tfjs: 'TF.js', jax: 'jax-js' };

/** Every library, ready on the same adapter. */
export interface BenchEnv {
  engine: Engine;
  tf: TF;
  /** jax-js on its WebGPU device, or null when it could not start there (`jaxUnavailable` says why). */
  jax: Jax | null;
  jaxUnavailable?: string;
  /** The kernel set our engine picked for the adapter (`'auto'`), restored after each case. */
  autoKernels: KernelSet;
  /** `'node'` (Dawn) or `'browser'` (Chrome). */
  runtime: 'node' | 'browser';
  quick: boolean;
  /**
   * Cases whose `params.size` exceeds this leave the peers out where they can (`--peer-max-size`; Infinity: never):
   * TF.js on SwiftShader takes minutes per run of attention at L = 1024.
   */
  peerMaxSize: number;
}

/** One way of computing the case: ours fused, ours unfused, TF.js composed, … */
export interface Variant {
  /** Shown in tables: `'ours fused'`, `'ours unfused'`, `'ours replay'`, `'tfjs'`, `'jax-js'`. */
  name: string;
  library: Library;
  /** The kernel set an `ours` variant runs under (the harness fills it in). */
  kernels?: KernelSet;
  /**
   * Records one iteration's GPU work. Must free what it allocates (use `engine.tidy` or `tf.tidy`): the harness
   * calls it hundreds of times. The harness submits and waits after it. jax-js dispatches lazily, so its variants
   * return the promise of `blockUntilReady` on their outputs (see harness/jax.ts).
   */
  run(): void | Promise<void>;
}

/** Variants of one library that are validated and freed on their own (the jax-js side of a case). */
export interface PeerPart {
  variants: Variant[];
  /** Like {@link CaseInstance.validate}, for these variants only. */
  validate(): Promise<void>;
  dispose(): void;
}

/** A case after `setup`: its tensors are allocated and its variants ready to run. */
export interface CaseInstance {
  /** Ours and TF.js. */
  variants: Variant[];
  /**
   * Runs every variant once and compares its output with the float64 CPU reference (on a slice of the
   * batch where the full reference would take minutes). Throws an Error naming the variant, the output
   * and the error on a mismatch.
   */
  validate(): Promise<void>;
  /** Frees the case's tensors in both libraries. */
  dispose(): void;
  /**
   * The jax-js variants, built only when jax-js runs on this adapter (absent: the case has no jax-js version), or
   * why the case leaves jax-js out this time. Anything it throws except a `Mismatch` (harness/check.ts) marks
   * jax-js unavailable for the case instead of failing the run.
   */
  jax?(jax: Jax): PeerPart | string | Promise<PeerPart | string>;
  /** Why this instance has no peer variants (TF.js, jax-js) and validates none, where it leaves them out. */
  peersLeftOut?: string;
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
