/** `Sequential` (`torch.nn.Sequential`): modules applied in order; parameter names are `0.weight`, `1.bias`, … */
import type { Tensor } from '../runtime/tensor.js';
import { Module } from './module.js';

export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.addModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}
