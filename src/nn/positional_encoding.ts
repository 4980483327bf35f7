/**
 * Sinusoidal positional encoding, d2l §11.6.3 `PositionalEncoding`: X + P[:, :L, :] followed by dropout, with
 * P[pos, 2j] = sin(pos·ω_j) and P[pos, 2j+1] = cos(pos·ω_j), ω_j = 1 / 10000^(2j/d).
 */
import { add } from '../ops/elementwise.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { Dropout } from './dropout.js';
import { Module, fromValues } from './module.js';

/**
 * d2l's P as a row-major (maxLen, numHiddens) matrix, for the model and for plots (d2l Fig. 11.6.1).
 *
 * Computed the way d2l computes it, in float32 steps, so that it matches d2l's tensor to float32 precision:
 * `X = arange(max_len).reshape(-1, 1) / pow(10000, arange(0, d, 2) / d)` rounds the exponent, the power and the
 * quotient to float32 before sin/cos (each Math.fround below is one such rounding). The rounded angle drifts from
 * the exact pos·ω_j by up to pos·2⁻²⁴ relative, so P agrees with a float64 evaluation within 1e-4 for positions
 * below 60 (test/positional_encoding.test.ts) but not for positions in the thousands.
 * @param maxLen number of positions, ≥ 1.
 * @param numHiddens d, even (d2l's P[:, :, 1::2] = cos(X) needs as many cos as sin columns).
 * @returns Float32Array of maxLen·numHiddens values.
 * @throws Error when maxLen or numHiddens is not a positive integer or numHiddens is odd.
 */
export function positionalEncodingMatrix(maxLen: number, numHiddens: number): Float32Array {
  if (!Number.isInteger(maxLen) || maxLen < 1)
    throw new Error(`positionalEncodingMatrix: maxLen must be an integer >= 1, got ${maxLen}`);
  if (!Number.isInteger(numHiddens) || numHiddens < 2 || numHiddens % 2 !== 0)
    throw new Error(
      `positionalEncodingMatrix: numHiddens must be a positive even integer, got ${numHiddens}`,
    );
  const f = Math.fround;
  const denominators = Array.from({ length: numHiddens / 2 }, (_, j) =>
    f(Math.pow(10000, f((2 * j) / numHiddens))),
  );
  const p = new Float32Array(maxLen * numHiddens);
  for (let pos = 0; pos < maxLen; pos++)
    denominators.forEach((den, j) => {
      const angle = f(pos / den);
      p[pos * numHiddens + 2 * j] = Math.sin(angle);
      p[pos * numHiddens + 2 * j + 1] = Math.cos(angle);
    });
  return p;
}

export interface PositionalEncodingOptions {
  /** d, the feature size of X (even). */
  numHiddens: number;
  /** Dropout probability after the addition, in [0, 1). */
  dropout: number;
  /** Longest sequence P covers (d2l's default 1000). */
  maxLen?: number;
}

/** Sequence lengths whose (1, L, d) prefix of P is kept on the device; d2l trains with one fixed length. */
const MAX_CACHED_LENGTHS = 8;

export class PositionalEncoding extends Module {
  readonly numHiddens: number;
  readonly maxLen: number;
  /**
   * (1, maxLen, numHiddens). Not in the state_dict: in d2l `self.P` is a plain attribute, not a registered
   * buffer, so PyTorch's state_dict has no entry for it.
   */
  readonly P: Tensor;
  readonly dropout: Dropout;
  private readonly values: Float32Array;
  /** P[:, :L, :] by L: storage has no offsets, so a prefix is its own (uploaded once) tensor. */
  private readonly prefixes = new Map<number, Tensor>();

  /** @throws Error when numHiddens is not a positive even integer, maxLen < 1 or dropout is outside [0, 1). */
  constructor({ numHiddens, dropout, maxLen = 1000 }: PositionalEncodingOptions) {
    super();
    this.numHiddens = numHiddens;
    this.maxLen = maxLen;
    this.dropout = this.addModule('dropout', new Dropout(dropout));
    this.values = positionalEncodingMatrix(maxLen, numHiddens);
    this.P = fromValues(this.values, [1, maxLen, numHiddens]).keep();
  }

  /** P[:, :L, :] as a (1, L, numHiddens) tensor owned by this module. */
  private prefix(l: number): Tensor {
    if (l === this.maxLen) return this.P;
    let t = this.prefixes.get(l);
    if (!t) {
      if (this.prefixes.size >= MAX_CACHED_LENGTHS) {
        const [oldest, old] = this.prefixes.entries().next().value!;
        old.dispose();
        this.prefixes.delete(oldest);
      }
      const values = this.values.subarray(0, l * this.numHiddens);
      t = this.P.engine.fromArray(values, [1, l, this.numHiddens]).keep();
      this.prefixes.set(l, t);
    }
    return t;
  }

  /**
   * dropout(X + P[:, :L, :]); dropout acts only in training mode.
   * @param x (B, L, numHiddens) float32 with L ≤ maxLen.
   * @returns (B, L, numHiddens).
   * @throws OpError naming `PositionalEncoding` and the shapes when x is not (B, L, numHiddens) or L > maxLen.
   */
  forward(x: Tensor): Tensor {
    if (x.shape.length !== 3 || x.shape[2] !== this.numHiddens || x.shape[1] > this.maxLen)
      throw new OpError(
        'PositionalEncoding',
        `expects X (B, L, ${this.numHiddens}) with L <= maxLen = ${this.maxLen}`,
        [x.shape, this.P.shape],
      );
    return this.dropout.forward(add(x, this.prefix(x.shape[1])));
  }

  /** Frees P and the cached prefixes. */
  override dispose(): void {
    super.dispose();
    this.P.dispose();
    for (const t of this.prefixes.values()) t.dispose();
    this.prefixes.clear();
  }
}
