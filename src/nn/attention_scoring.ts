/**
 * The attention scoring functions of d2l §11.3 "Attention Scoring Functions" as modules: additive (Bahdanau et al.
 * 2014), scaled dot-product (Vaswani et al. 2017) and bilinear, the "general" score of Luong et al. 2015. Each scores
 * every (query, key) pair, applies d2l's masked softmax, dropout on the weights in training, and a batched product
 * with the values. Built from ops only (the additive score through its fused kernel by default).
 *
 * Shapes: queries (B, L, Dq), keys (B, S, Dk), values (B, S, Dv), validLens int32 (B) or (B, L) → (B, L, Dv).
 * `attentionWeights` holds the last (B, L, S) softmax output, before dropout, like d2l's `self.attention_weights`.
 * It is a reference to a tensor created by `forward`, so it lives exactly as long as the caller's `tidy` scope
 * around that call: read it inside the scope, or `keep()` it (and dispose it yourself) to use it afterwards.
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { additiveScore, additiveScoreComposed } from '../ops/additive_score.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { mul } from '../ops/elementwise.js';
import { maskedSoftmax } from '../ops/masked_softmax.js';
import { matmul } from '../ops/matmul.js';
import { reshape } from '../ops/shape.js';
import type { ValidLens } from '../ops/valid_lens.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { uniformValues } from './init.js';
import { Linear } from './linear.js';
import { Module, fromValues } from './module.js';

export type { ValidLens } from '../ops/valid_lens.js';

/** Throws unless queries (B, L, Dq), keys (B, S, Dk), values (B, S, Dv) agree, and Dq / Dk match when given. */
function checkShapes(name: string, q: Tensor, k: Tensor, v: Tensor, dq?: number, dk?: number): void {
  const shapes = [q.shape, k.shape, v.shape];
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3)
    throw new OpError(name, 'expects queries (B, L, Dq), keys (B, S, Dk) and values (B, S, Dv)', shapes);
  if (k.shape[0] !== q.shape[0] || v.shape[0] !== q.shape[0] || v.shape[1] !== k.shape[1])
    throw new OpError(name, 'batch sizes or key counts S of queries, keys and values differ', shapes);
  if (dq !== undefined && dk !== undefined && (q.shape[2] !== dq || k.shape[2] !== dk))
    throw new OpError(name, `expects query size ${dq} and key size ${dk}`, shapes);
}

/** A scoring module: scores, then d2l's shared tail (masked softmax, dropout in training, bmm with the values). */
export abstract class ScoringAttention extends Module {
  /** Last (B, L, S) attention weights before dropout; owned by the caller's tidy scope (see the file comment). */
  attentionWeights: Tensor | null = null;

  constructor(
    name: string,
    readonly dropout: number,
  ) {
    super();
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`${name}: dropout must be in [0, 1), got ${dropout}`);
  }

  /**
   * @param queries (B, L, Dq) float32.
   * @param keys (B, S, Dk) float32.
   * @param values (B, S, Dv) float32.
   * @param validLens int32 (B) or (B, L) valid key counts (d2l's masking), or absent.
   * @returns (B, L, Dv); sets `attentionWeights` (B, L, S).
   */
  abstract override forward(queries: Tensor, keys: Tensor, values: Tensor, validLens?: ValidLens): Tensor;

  protected attend(scores: Tensor, values: Tensor, validLens: ValidLens | undefined): Tensor {
    const weights = maskedSoftmax(scores, validLens);
    this.attentionWeights = weights;
    const used = this.training && this.dropout > 0 ? dropoutOp(weights, this.dropout) : weights;
    return matmul(used, values);
  }
}

export interface AdditiveAttentionOptions {
  keySize: number;
  querySize: number;
  numHiddens: number;
  /** Dropout probability on the attention weights in training, in [0, 1). */
  dropout: number;
  /** Score with the fused kernel (default, no (B, L, S, H) buffer) or with d2l's broadcast construction. */
  fused?: boolean;
  rng?: Random;
}

/**
 * d2l's `AdditiveAttention(key_size, query_size, num_hiddens, dropout)` (§11.3.3): scores w_vᵀ tanh(W_q q + W_k k).
 * Parameters as its `state_dict`: `W_k.weight` (numHiddens, keySize), `W_q.weight` (numHiddens, querySize),
 * `w_v.weight` (1, numHiddens), all Linear layers without bias, initialised (in that order) as PyTorch's Linear.
 */
export class AdditiveAttention extends ScoringAttention {
  readonly W_k: Linear;
  readonly W_q: Linear;
  readonly w_v: Linear;
  fused: boolean;

  constructor({
    keySize,
    querySize,
    numHiddens,
    dropout,
    fused = true,
    rng = defaultGenerator(),
  }: AdditiveAttentionOptions) {
    super('AdditiveAttention', dropout);
    this.fused = fused;
    this.W_k = this.addModule('W_k', new Linear(keySize, numHiddens, { bias: false, rng }));
    this.W_q = this.addModule('W_q', new Linear(querySize, numHiddens, { bias: false, rng }));
    this.w_v = this.addModule('w_v', new Linear(numHiddens, 1, { bias: false, rng }));
  }

  /**
   * @param queries (B, L, querySize) float32.
   * @param keys (B, S, keySize) float32.
   * @param values (B, S, Dv) float32.
   * @param validLens int32 (B) or (B, L) valid key counts (d2l's masking), or absent.
   * @returns (B, L, Dv); sets `attentionWeights` (B, L, S).
   * @throws OpError when the shapes disagree with each other or with keySize / querySize.
   */
  forward(queries: Tensor, keys: Tensor, values: Tensor, validLens?: ValidLens): Tensor {
    checkShapes('AdditiveAttention', queries, keys, values, this.W_q.inFeatures, this.W_k.inFeatures);
    const q = this.W_q.forward(queries);
    const k = this.W_k.forward(keys);
    const w = reshape(this.w_v.weight, [this.w_v.inFeatures]);
    const scores = this.fused ? additiveScore(q, k, w) : additiveScoreComposed(q, k, w);
    return this.attend(scores, values, validLens);
  }
}

export interface DotProductAttentionOptions {
  /** Dropout probability on the attention weights in training, in [0, 1). */
  dropout: number;
  /** Divide the scores by √d (d2l's scaled dot product, the default) or not (plain dot-product scoring). */
  scaled?: boolean;
}

/**
 * d2l's `DotProductAttention(dropout)` (§11.3.2): scores q·kᵀ / √d with d = Dq = Dk, or q·kᵀ when `scaled` is
 * false. No parameters. Composed from matmul, mul, maskedSoftmax, dropout and matmul.
 */
export class DotProductAttention extends ScoringAttention {
  readonly scaled: boolean;

  constructor({ dropout, scaled = true }: DotProductAttentionOptions) {
    super('DotProductAttention', dropout);
    this.scaled = scaled;
  }

  /**
   * @param queries (B, L, D) float32.
   * @param keys (B, S, D) float32.
   * @param values (B, S, Dv) float32.
   * @param validLens int32 (B) or (B, L), or absent.
   * @returns (B, L, Dv); sets `attentionWeights` (B, L, S).
   * @throws OpError when the shapes disagree (including Dq ≠ Dk).
   */
  forward(queries: Tensor, keys: Tensor, values: Tensor, validLens?: ValidLens): Tensor {
    checkShapes('DotProductAttention', queries, keys, values);
    if (queries.shape[2] !== keys.shape[2])
      throw new OpError('DotProductAttention', 'queries and keys need one size D', [
        queries.shape,
        keys.shape,
        values.shape,
      ]);
    const qk = matmul(queries, keys, { transB: true });
    const scores = this.scaled ? mul(qk, 1 / Math.sqrt(queries.shape[2])) : qk;
    return this.attend(scores, values, validLens);
  }
}

export interface BilinearAttentionOptions {
  querySize: number;
  keySize: number;
  /** Dropout probability on the attention weights in training, in [0, 1). */
  dropout: number;
  rng?: Random;
}

/**
 * Bilinear ("general") scoring, Luong et al. 2015 (d2l §11.3 mentions it beside the dot product): scores q W kᵀ.
 * Parameter `W` (querySize, keySize), initialised as a Linear(keySize → querySize) weight, U(±1/√keySize).
 */
export class BilinearAttention extends ScoringAttention {
  readonly W: Tensor;

  constructor({ querySize, keySize, dropout, rng = defaultGenerator() }: BilinearAttentionOptions) {
    super('BilinearAttention', dropout);
    const bound = 1 / Math.sqrt(keySize);
    this.W = this.addParameter(
      'W',
      fromValues(uniformValues(querySize * keySize, bound, rng), [querySize, keySize]),
    );
  }

  /**
   * @param queries (B, L, querySize) float32.
   * @param keys (B, S, keySize) float32.
   * @param values (B, S, Dv) float32.
   * @param validLens int32 (B) or (B, L), or absent.
   * @returns (B, L, Dv); sets `attentionWeights` (B, L, S).
   * @throws OpError when the shapes disagree with each other or with querySize / keySize.
   */
  forward(queries: Tensor, keys: Tensor, values: Tensor, validLens?: ValidLens): Tensor {
    checkShapes('BilinearAttention', queries, keys, values, this.W.shape[0], this.W.shape[1]);
    const scores = matmul(matmul(queries, this.W), keys, { transB: true });
    return this.attend(scores, values, validLens);
  }
}
