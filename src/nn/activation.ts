/** Stateless activation modules (`torch.nn.ReLU`). */
import { relu } from '../ops/elementwise.js';
import type { Tensor } from '../runtime/tensor.js';
import { Module } from './module.js';

export class ReLU extends Module {
  /** Shape preserved. */
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}
