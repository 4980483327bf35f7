/**
 * Dropout (`torch.nn.functional.dropout` in training mode) with a counter-based mask: element i is kept when
 * uniform(pcg(i + pcg(seed))) ≥ p and then scaled by 1/(1 − p). The mask is a pure function of (seed, index),
 * so backward re-derives it instead of storing it, and the fused attention kernels reproduce it in-kernel.
 */
import { OpError, apply, type OpDef } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';
import { defaultGenerator } from '../runtime/random.js';

export interface DropoutAttrs {
  /** Probability of zeroing an element, in [0, 1). */
  p: number;
  /** u32 seed; the same seed gives the same mask. */
  seed: number;
}

/** PCG hash (Jarzynski & Olano, JCGT 2020) on u32, the CPU twin of `pcg` in shaders/dropout.wgsl. */
export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform draw in [0, 1) behind element `index` for `seed`. */
export function dropoutUniform(seed: number, index: number): number {
  return (pcg((index + pcg(seed)) >>> 0) >>> 8) / 16777216;
}

export const dropoutOp: OpDef<DropoutAttrs, { n: number }> = {
  name: 'dropout',
  shape([x], { p }) {
    if (!(p >= 0 && p < 1)) throw new OpError('dropout', `p must be in [0, 1), got ${p}`, [x.shape]);
    return { outputs: [{ shape: x.shape }], plan: { n: numel(x.shape) } };
  },
  gpu(engine, [x], [y], { p, seed }, { n }) {
    engine.dispatch('dropout', {
      bindings: { x, y },
      params: { n, seed: seed >>> 0, p, scale: 1 / (1 - p) },
      threads: n,
    });
  },
  cpu([x], { p, seed }) {
    return [Float64Array.from(x.data, (v, i) => (dropoutUniform(seed, i) >= p ? v / (1 - p) : 0))];
  },
  // Linear in x for a fixed mask: the gradient is the same dropout applied to dy.
  backward: ({ dy, attrs }) => [apply(dropoutOp, [dy], attrs)[0]],
  cases: [
    { inputs: [{ shape: [1] }], attrs: { p: 0.5, seed: 1 } },
    { inputs: [{ shape: [7, 13] }], attrs: { p: 0.1, seed: 42 } },
    { inputs: [{ shape: [3, 129] }], attrs: { p: 0.5, seed: 4294967295 } },
  ],
};

/** A fresh u32 seed from the default generator (`manualSeed` makes the sequence reproducible). */
export function nextSeed(): number {
  return defaultGenerator().int(2 ** 32) >>> 0;
}

/**
 * Dropout in training mode: zeroes each element with probability `p` and scales the rest by 1/(1 − p).
 * Returns `x` itself when p = 0.
 * @param x any shape, float32.
 * @param seed u32; defaults to a fresh one from the default generator. Same seed, same mask.
 * @throws OpError when p is outside [0, 1).
 */
export function dropout(x: Tensor, p: number, seed: number = nextSeed()): Tensor {
  if (p === 0) return x;
  return apply(dropoutOp, [x], { p, seed })[0];
}
