/**
 * `LayerNorm` (`torch.nn.LayerNorm(D)` over the last dim, d2l §11.7): weight starts at 1, bias at 0, eps 1e-5.
 * Normalisation uses each row's own statistics, so training and eval behave the same.
 */
import { fill } from '../ops/elementwise.js';
import { layerNorm } from '../ops/layer_norm.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  /**
   * @param normalizedShape D, the size of the last dim (PyTorch's int form of `normalized_shape`).
   * @param eps added to the biased variance under the square root.
   */
  constructor(
    readonly normalizedShape: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.addParameter('weight', fill([normalizedShape], 1));
    this.bias = this.addParameter('bias', fill([normalizedShape], 0));
  }

  /**
   * @param x (…, D) float32 with D = normalizedShape.
   * @returns (…, D).
   * @throws OpError when the last dim of x is not D.
   */
  forward(x: Tensor): Tensor {
    if (x.shape.at(-1) !== this.normalizedShape)
      throw new OpError('LayerNorm', `expects last dim ${this.normalizedShape}`, [x.shape]);
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
