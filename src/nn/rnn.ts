/**
 * Multi-layer `GRU` and `LSTM` (`torch.nn.GRU` / `torch.nn.LSTM`, time-major input as PyTorch's default and d2l
 * §10.7), split as cuDNN does: per layer, the input projections of all T steps are one matmul, then each step is
 * one matmul for the hidden projection and one fused cell kernel (src/ops/gru_cell.ts, lstm_cell.ts). Autograd
 * runs through the steps, so backpropagation through time needs no code here. Dropout acts between layers, not
 * after the last, and only in training (PyTorch semantics).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { stack, unbind } from '../ops/concat.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { add, fill } from '../ops/elementwise.js';
import { gruCell } from '../ops/gru_cell.js';
import { lstmCell } from '../ops/lstm_cell.js';
import { matmul } from '../ops/matmul.js';
import { reshape } from '../ops/shape.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { uniformValues } from './init.js';
import { Module, fromValues } from './module.js';
import { xavierUniform } from './xavier.js';

export interface RNNOptions {
  /** Stacked layers; layer l > 0 reads layer l − 1's outputs. Default 1. */
  numLayers?: number;
  /** Dropout probability on every layer's output except the last, in training. Default 0. */
  dropout?: number;
  rng?: Random;
  /**
   * Xavier-uniform weight matrices (d2l's `init_seq2seq`, which applies `xavier_uniform_` to `weight_ih_l*` and
   * `weight_hh_l*`). Default false: every parameter from U(−1/√H, 1/√H), PyTorch's default. Biases always
   * take PyTorch's default.
   */
  xavier?: boolean;
}

interface LayerParams {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor;
  bhh: Tensor;
}

/** Parameters and the parts of the recurrence that GRU and LSTM share; `gates` is 3 (GRU) or 4 (LSTM). */
abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly dropout: number;
  protected readonly layers: LayerParams[] = [];

  constructor(
    private readonly kind: 'GRU' | 'LSTM',
    gates: number,
    readonly inputSize: number,
    readonly numHiddens: number,
    { numLayers = 1, dropout = 0, rng = defaultGenerator(), xavier = false }: RNNOptions,
  ) {
    super();
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`${kind}: dropout must be in [0, 1), got ${dropout}`);
    if (!Number.isInteger(numLayers) || numLayers < 1)
      throw new Error(`${kind}: numLayers must be a positive integer, got ${numLayers}`);
    this.numLayers = numLayers;
    this.dropout = dropout;
    const h = numHiddens;
    const bound = 1 / Math.sqrt(h);
    // Registration (and drawing) order is PyTorch's: weight_ih, weight_hh, bias_ih, bias_hh per layer.
    const weight = (name: string, fanIn: number) =>
      this.addParameter(
        name,
        fromValues(
          xavier ? xavierUniform(fanIn, gates * h, rng) : uniformValues(gates * h * fanIn, bound, rng),
          [gates * h, fanIn],
        ),
      );
    const bias = (name: string) =>
      this.addParameter(name, fromValues(uniformValues(gates * h, bound, rng), [gates * h]));
    for (let l = 0; l < numLayers; l++)
      this.layers.push({
        wih: weight(`weight_ih_l${l}`, l === 0 ? inputSize : h),
        whh: weight(`weight_hh_l${l}`, h),
        bih: bias(`bias_ih_l${l}`),
        bhh: bias(`bias_hh_l${l}`),
      });
  }

  /** (T, B) of x (T, B, inputSize); throws naming the module otherwise. */
  protected checkInput(x: Tensor): [number, number] {
    if (x.shape.length !== 3 || x.shape[2] !== this.inputSize)
      throw new OpError(this.kind, `expects input (T, B, ${this.inputSize})`, [x.shape]);
    if (x.shape[0] === 0) throw new OpError(this.kind, 'expects at least one time step', [x.shape]);
    return [x.shape[0], x.shape[1]];
  }

  /** Layer-wise (B, H) states from (numLayers, B, H), or zeros; throws naming the module on a wrong shape. */
  initialStates(x: Tensor, batch: number, state: Tensor | undefined, what: string): Tensor[] {
    const shape = [this.numLayers, batch, this.numHiddens];
    if (!state) return this.layers.map(() => fill([batch, this.numHiddens], 0, x.engine));
    if (state.shape.join() !== shape.join())
      throw new OpError(this.kind, `expects ${what} (${shape.join(', ')})`, [x.shape, state.shape]);
    return unbind(state, 0);
  }

  /** x_t·W_ihᵀ + b_ih for every step at once: (T, B, I) → T tensors (B, G·H). */
  protected inputProjections(x: Tensor, l: number): Tensor[] {
    const [t, b, i] = x.shape;
    const { wih, bih } = this.layers[l];
    const gi = add(matmul(reshape(x, [t * b, i]), wih, { transB: true }), bih);
    return unbind(reshape(gi, [t, b, wih.shape[0]]), 0);
  }

  /** h·W_hhᵀ + b_hh: (B, H) → (B, G·H). */
  protected hiddenProjection(h: Tensor, l: number): Tensor {
    const { whh, bhh } = this.layers[l];
    return add(matmul(h, whh, { transB: true }), bhh);
  }

  /** Stacks a layer's step outputs to (T, B, H), with inter-layer dropout in training. */
  protected layerOutput(steps: Tensor[], l: number): Tensor {
    return this.betweenLayers(stack(steps, 0), l);
  }

  /** What layer l + 1 reads from layer l's output y: y with dropout in training, except after the last layer. */
  protected betweenLayers(y: Tensor, l: number): Tensor {
    return this.training && l < this.numLayers - 1 ? dropoutOp(y, this.dropout) : y;
  }

  /** Layer l's gate pre-activations from the input x (B, I) of one time step: x·W_ihᵀ + b_ih. */
  protected stepProjection(x: Tensor, l: number): Tensor {
    const { wih, bih } = this.layers[l];
    return add(matmul(x, wih, { transB: true }), bih);
  }
}

/**
 * `torch.nn.GRU(inputSize, numHiddens, numLayers, dropout=…)`, time-major. Parameters as PyTorch's `state_dict`:
 * `weight_ih_l{k}` (3H, I or H), `weight_hh_l{k}` (3H, H), `bias_ih_l{k}`, `bias_hh_l{k}` (3H), gate blocks r, z, n.
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, numHiddens: number, options: RNNOptions = {}) {
    super('GRU', 3, inputSize, numHiddens, options);
  }

  /**
   * @param x (T, B, inputSize) float32.
   * @param state h0 (numLayers, B, H); zeros when omitted.
   * @returns [output (T, B, H), the last layer's h at every step; state (numLayers, B, H), each layer's last h].
   * @throws OpError naming `GRU` and the shapes when x or state does not fit.
   */
  forward(x: Tensor, state?: Tensor): [Tensor, Tensor] {
    const [, b] = this.checkInput(x);
    const h0 = this.initialStates(x, b, state, 'state');
    const last: Tensor[] = [];
    let input = x;
    for (let l = 0; l < this.numLayers; l++) {
      let h = h0[l];
      const outs = this.inputProjections(input, l).map(
        (gi) => (h = gruCell(gi, this.hiddenProjection(h, l), h)),
      );
      last.push(h);
      input = this.layerOutput(outs, l);
    }
    return [input, stack(last, 0)];
  }

  /**
   * One time step through every layer with the states kept per layer: `forward` with T = 1, without stacking
   * the (numLayers, B, H) state and splitting it again at every step of a decoder loop.
   * @param x (B, inputSize) float32.
   * @param hs numLayers tensors (B, H), e.g. from {@link RNNBase.initialStates}.
   * @returns the new hs; the last one is the step's output.
   */
  step(x: Tensor, hs: Tensor[]): Tensor[] {
    let input = x;
    return hs.map((h, l) => {
      const next = gruCell(this.stepProjection(input, l), this.hiddenProjection(h, l), h);
      input = this.betweenLayers(next, l);
      return next;
    });
  }
}

/**
 * `torch.nn.LSTM(inputSize, numHiddens, numLayers, dropout=…)`, time-major. Parameters as PyTorch's `state_dict`:
 * `weight_ih_l{k}` (4H, I or H), `weight_hh_l{k}` (4H, H), `bias_ih_l{k}`, `bias_hh_l{k}` (4H), gate blocks
 * i, f, g, o.
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, numHiddens: number, options: RNNOptions = {}) {
    super('LSTM', 4, inputSize, numHiddens, options);
  }

  /**
   * @param x (T, B, inputSize) float32.
   * @param state [h0, c0], each (numLayers, B, H); zeros when omitted.
   * @returns [output (T, B, H), the last layer's h at every step; [h, c], each (numLayers, B, H), every layer's
   *   last states].
   * @throws OpError naming `LSTM` and the shapes when x or a state does not fit.
   */
  forward(x: Tensor, state?: [Tensor, Tensor]): [Tensor, [Tensor, Tensor]] {
    const [, b] = this.checkInput(x);
    const h0 = this.initialStates(x, b, state?.[0], 'h0');
    const c0 = this.initialStates(x, b, state?.[1], 'c0');
    const lastH: Tensor[] = [];
    const lastC: Tensor[] = [];
    let input = x;
    for (let l = 0; l < this.numLayers; l++) {
      let [h, c] = [h0[l], c0[l]];
      const outs = this.inputProjections(input, l).map((gi) => {
        [h, c] = lstmCell(gi, this.hiddenProjection(h, l), c);
        return h;
      });
      lastH.push(h);
      lastC.push(c);
      input = this.layerOutput(outs, l);
    }
    return [input, [stack(lastH, 0), stack(lastC, 0)]];
  }

  /**
   * One time step through every layer with the states kept per layer, as {@link GRU.step}.
   * @param x (B, inputSize) float32.
   * @param states numLayers pairs [h, c], each (B, H).
   * @returns the new [h, c] pairs; the last h is the step's output.
   */
  step(x: Tensor, states: [Tensor, Tensor][]): [Tensor, Tensor][] {
    let input = x;
    return states.map(([h, c], l) => {
      const next = lstmCell(this.stepProjection(input, l), this.hiddenProjection(h, l), c);
      input = this.betweenLayers(next[0], l);
      return next;
    });
  }
}
