/**
 * The two small blocks around every Transformer sublayer (d2l §11.7): the position-wise feed-forward network and
 * the residual connection followed by layer normalisation.
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { add, relu } from '../ops/elementwise.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { LayerNorm } from './layer_norm.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/**
 * d2l's `PositionWiseFFN`: dense2(relu(dense1(x))), the same MLP at every position. d2l builds it from
 * `LazyLinear`; here the input size is explicit. Parameters `dense1.weight` (ffnNumHiddens, inputSize),
 * `dense1.bias`, `dense2.weight` (ffnNumOutputs, ffnNumHiddens), `dense2.bias`, PyTorch's Linear initialisation.
 */
export class PositionWiseFFN extends Module {
  readonly dense1: Linear;
  readonly dense2: Linear;

  constructor(
    inputSize: number,
    ffnNumHiddens: number,
    ffnNumOutputs: number,
    { rng = defaultGenerator() }: { rng?: Random } = {},
  ) {
    super();
    this.dense1 = this.addModule('dense1', new Linear(inputSize, ffnNumHiddens, { rng }));
    this.dense2 = this.addModule('dense2', new Linear(ffnNumHiddens, ffnNumOutputs, { rng }));
  }

  /**
   * @param x (…, inputSize) float32, e.g. (B, L, D).
   * @returns (…, ffnNumOutputs).
   * @throws OpError (from Linear) when the last dim of x is not inputSize.
   */
  forward(x: Tensor): Tensor {
    return this.dense2.forward(relu(this.dense1.forward(x)));
  }
}

/**
 * d2l's `AddNorm`: ln(dropout(Y) + X), the residual connection and layer normalisation after each sublayer.
 * Dropout acts only in training. Parameters `ln.weight`, `ln.bias` (normShape).
 */
export class AddNorm extends Module {
  readonly ln: LayerNorm;

  /**
   * @param normShape D, the last dim of X and Y.
   * @param dropout probability in [0, 1) applied to Y in training.
   */
  constructor(
    normShape: number,
    readonly dropout: number,
  ) {
    super();
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`AddNorm: dropout must be in [0, 1), got ${dropout}`);
    this.ln = this.addModule('ln', new LayerNorm(normShape));
  }

  /**
   * @param x the sublayer's input X (…, D).
   * @param y the sublayer's output Y, the shape of X.
   * @returns (…, D).
   * @throws OpError when X and Y differ in shape or their last dim is not normShape.
   */
  forward(x: Tensor, y: Tensor): Tensor {
    if (x.shape.join() !== y.shape.join())
      throw new OpError('AddNorm', 'X and Y must have one shape', [x.shape, y.shape]);
    return this.ln.forward(add(this.training ? dropoutOp(y, this.dropout) : y, x));
  }
}
