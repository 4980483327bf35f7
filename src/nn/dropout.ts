/**
 * `Dropout` (`torch.nn.Dropout`): the counter-based dropout of src/ops/dropout.ts in training mode, the identity
 * in eval mode.
 */
import { dropout } from '../ops/dropout.js';
import type { Tensor } from '../runtime/tensor.js';
import { Module } from './module.js';

export class Dropout extends Module {
  /**
   * @param p probability of zeroing an element, in [0, 1) (PyTorch also takes 1; the kernel's 1/(1 − p) scale
   *   does not).
   * @throws Error when p is outside [0, 1).
   */
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  /**
   * @param x any shape, float32.
   * @returns x itself in eval mode or when p = 0; otherwise a new tensor with a fresh mask from the default
   *   generator (`manualSeed` makes it reproducible).
   */
  forward(x: Tensor): Tensor {
    return this.training ? dropout(x, this.p) : x;
  }
}
