/** `Sequential` (`torch.nn.Sequential`): modules applied in order; parameter names are `0.weight`, `1.bias`, … */
import type { Tensor } from '../runtime/tensor.js';
import { Module } from './module.js';

/** A module that maps one tensor to one tensor, the kind `Sequential` chains. */
export type TensorModule = Module & { forward(x: Tensor): Tensor };

export class Sequential extends Module {
  readonly layers: TensorModule[];

  constructor(...layers: TensorModule[]) {
    super();
    this.layers = layers.map((m, i) => this.addModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}
