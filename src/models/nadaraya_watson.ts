/**
 * Nadaraya-Watson kernel regression with a learnable width (d2l §10.2.4, "Parametric Attention Pooling"):
 * f(q) = Σᵢ softmax_i(−((q − kᵢ)·w)²/2) · vᵢ, plus the non-parametric pooling (w = 1 fixed, §10.2.3).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { maskedSoftmax } from '../ops/masked_softmax.js';
import { matmul } from '../ops/matmul.js';
import { mul, square, sub } from '../ops/elementwise.js';
import { reshape } from '../ops/shape.js';
import { Module, fromValues } from '../nn/module.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';

/** Attention pooling weights softmax(−((q − k)·w)²/2) over the keys of each query. */
function gaussianAttention(queries: Tensor, keys: Tensor, w: Tensor | null): Tensor {
  const n = keys.shape[0];
  if (queries.shape.length !== 1 || keys.shape.length !== 2 || queries.shape[0] !== n)
    throw new OpError('NWKernelRegression', 'queries (n) and keys (n, m) disagree', [
      queries.shape,
      keys.shape,
    ]);
  const diff = sub(reshape(queries, [n, 1]), keys);
  const scaled = w ? mul(diff, w) : diff;
  return maskedSoftmax(mul(square(scaled), -0.5));
}

/** Σ_j attention[i, j]·values[i, j] as d2l's `torch.bmm(attention.unsqueeze(1), values.unsqueeze(-1))`. */
function pool(attention: Tensor, values: Tensor): Tensor {
  const [n, m] = attention.shape;
  return reshape(matmul(reshape(attention, [n, 1, m]), reshape(values, [n, m, 1])), [n]);
}

export class NWKernelRegression extends Module {
  /** The learnable width w, shape (1), initialised from U(0, 1) as d2l's `torch.rand((1,))`. */
  readonly w: Tensor;
  /** Weights of the last forward pass, (queries, keys); owned by the caller's tidy scope. */
  attentionWeights: Tensor | null = null;

  constructor(rng: Random = defaultGenerator()) {
    super();
    this.w = this.addParameter('w', fromValues([rng.uniform()], [1]));
  }

  /**
   * @param queries (n) float32.
   * @param keys (n, m) float32: the keys each query attends to.
   * @param values (n, m) float32.
   * @returns predictions (n).
   */
  forward(queries: Tensor, keys: Tensor, values: Tensor): Tensor {
    this.attentionWeights = gaussianAttention(queries, keys, this.w);
    return pool(this.attentionWeights, values);
  }
}

/**
 * Non-parametric Nadaraya-Watson (Gaussian kernel, width 1), d2l §10.2.3.
 * @returns predictions (n) and the attention weights (n, m).
 */
export function nwNonParametric(
  queries: Tensor,
  keys: Tensor,
  values: Tensor,
): { yHat: Tensor; attention: Tensor } {
  const attention = gaussianAttention(queries, keys, null);
  return { yHat: pool(attention, values), attention };
}
