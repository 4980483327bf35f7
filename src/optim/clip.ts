/** `torch.nn.utils.clip_grad_norm_` (d2l §9.5): rescale all gradients together when their global L2 norm is large. */
import { add, div, fill, minimum, sqrt } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { scaleAll } from '../ops/scale_all.js';
import { sumSquares } from '../ops/sum_squares.js';
import { engine as currentEngine } from '../runtime/global.js';
import type { Tensor } from '../runtime/tensor.js';

/**
 * Scales every gradient in place by coef = min(1, maxNorm/(‖g‖ + 1e-6)), where ‖g‖ is the L2 norm of all the
 * params' gradients concatenated; computed on the device, with no readback. Params without a gradient are skipped.
 * @param params tensors of any shapes, on one engine.
 * @returns the total norm before clipping, a scalar () float32 tensor owned by the caller (0 when no gradients).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  const engine = grads[0]?.engine ?? params[0]?.engine ?? currentEngine();
  if (grads.length === 0) return fill([], 0, engine);
  return engine.noGrad(() =>
    engine.tidy(() => {
      // One fused kernel per 7 gradients for the squared norms (a step has many small gradients).
      const total = sqrt(sum(sumSquares(grads)));
      const coef = minimum(div(maxNorm, add(total, 1e-6)), 1);
      // assign shares the product's storage, so the kept `.grad` handles survive the scope closing.
      scaleAll(grads, coef).forEach((scaled, i) => grads[i].assign(scaled));
      return total;
    }),
  );
}
