/** What a training-step case checks a peer's step with: the tolerance, and gradients against ours. */
import { Mismatch } from '../harness/check.js';

/** Tolerance on the loss (relative to the CPU reference), the gradients and the parameters after one step. */
export const TOL = 1e-3;

export type State = Record<string, { values: Float32Array; shape: number[] }>;

/**
 * Throws a {@link Mismatch} unless max |peer − ours| ≤ TOL · max |ours| over the tensor (gradients are small, so
 * not 1 + max).
 */
export function gradClose(what: string, got: ArrayLike<number> | undefined, want: Float32Array): void {
  if (!got || got.length !== want.length)
    throw new Mismatch(`${what}: the peer has no gradient of this shape`);
  let err = 0;
  let scale = 0;
  want.forEach((w, i) => {
    err = Math.max(err, Math.abs(got[i] - w));
    scale = Math.max(scale, Math.abs(w));
  });
  if (!(err <= TOL * scale))
    throw new Mismatch(
      `${what}: peer vs ours differ by ${err.toExponential(2)}, ${(err / scale).toExponential(2)} of max |grad| > ${TOL}`,
    );
}
