/**
 * `Linear` (`torch.nn.Linear`): y = x·Wᵀ + b with W (out, in), PyTorch's default initialisation
 * (kaiming_uniform with a = √5, i.e. W, b ~ U(−1/√in, 1/√in)).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { uniformValues } from './init.js';
import { Module, fromValues } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  rng?: Random;
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, rng = defaultGenerator() }: LinearOptions = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParameter(
      'weight',
      fromValues(uniformValues(outFeatures * inFeatures, bound, rng), [outFeatures, inFeatures]),
    );
    this.bias = bias
      ? this.addParameter('bias', fromValues(uniformValues(outFeatures, bound, rng), [outFeatures]))
      : null;
  }

  /**
   * @param x (…, in) float32 — (N, in) or (B, L, in).
   * @returns (…, out).
   * @throws OpError when the last dim of x is not `inFeatures`.
   */
  forward(x: Tensor): Tensor {
    if (x.shape.at(-1) !== this.inFeatures)
      throw new OpError('Linear', `expects last dim ${this.inFeatures}`, [x.shape, this.weight.shape]);
    const y = matmul(x, this.weight, { transB: true });
    return this.bias ? add(y, this.bias) : y;
  }
}
