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

/**
 * Below this |gradient| Adam's first step m̂/(√v̂ + eps) = g/(|g| + eps) (eps = 1e-8) is ill-conditioned: float32
 * differences in g of the size {@link gradClose} allows move the update anywhere between 0 and the full step.
 */
const ADAM_FLAT = 1e-6;

/**
 * Throws a {@link Mismatch} unless the peer's parameter after one step matches ours within TOL · (1 + max |ours|),
 * except that elements whose gradient is below {@link ADAM_FLAT} may differ by up to our largest step of the tensor.
 */
export function paramsClose(
  what: string,
  got: ArrayLike<number>,
  after: Float32Array,
  before: Float32Array,
  grad: Float32Array | undefined,
): void {
  let scale = 0;
  let step = 0;
  after.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    step = Math.max(step, Math.abs(v - before[i]));
  });
  const tol = TOL * (1 + scale);
  for (let i = 0; i < after.length; i++) {
    const e = Math.abs(got[i] - after[i]);
    const flat = grad !== undefined && Math.abs(grad[i]) < ADAM_FLAT;
    if (!(e <= tol + (flat ? step : 0)))
      throw new Mismatch(
        `${what}: at ${i} got ${got[i]}, ours ${after[i]} (error ${e.toExponential(2)} > ${tol.toExponential(2)}` +
          `${flat ? ` + step ${step.toExponential(2)} for a gradient below ${ADAM_FLAT}` : ''})`,
      );
  }
}
