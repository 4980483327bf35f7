/**
 * `BatchNorm1d` (`torch.nn.BatchNorm1d` on (N, C) input): training normalises with the batch mean and biased
 * variance and updates the running estimates with the unbiased variance (momentum 0.1); eval uses the running
 * estimates. eps 1e-5. gamma starts at 1, beta at 0, running mean 0, running var 1, as PyTorch.
 */
import { add, div, mul, sqrt, sub, fill } from '../ops/elementwise.js';
import { batchNorm, updateRunningStats } from '../ops/batch_norm.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { Module } from './module.js';

export class BatchNorm1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    super();
    this.weight = this.addParameter('weight', fill([numFeatures], 1));
    this.bias = this.addParameter('bias', fill([numFeatures], 0));
    this.runningMean = this.addBuffer('running_mean', fill([numFeatures], 0));
    this.runningVar = this.addBuffer('running_var', fill([numFeatures], 1));
  }

  /**
   * @param x (N, C) float32 with C = numFeatures; N ≥ 2 in training.
   * @returns (N, C).
   * @throws OpError on a channel mismatch, or N < 2 in training (as PyTorch).
   */
  forward(x: Tensor): Tensor {
    if (x.shape.length !== 2 || x.shape[1] !== this.numFeatures)
      throw new OpError('BatchNorm1d', `expects (N, ${this.numFeatures})`, [x.shape]);
    if (!this.training) {
      const scale = div(this.weight, sqrt(add(this.runningVar, this.eps)));
      return add(mul(sub(x, this.runningMean), scale), this.bias);
    }
    const [y, mean, variance] = batchNorm(x, this.weight, this.bias, this.eps);
    updateRunningStats(this.runningMean, this.runningVar, mean, variance, x.shape[0], this.momentum);
    return y;
  }
}
