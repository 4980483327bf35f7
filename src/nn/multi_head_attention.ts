/**
 * `MultiHeadAttention`, d2l §11.5: project queries, keys and values with W_q, W_k, W_v, split the features into H
 * heads that attend in one batched scaled dot-product attention (src/ops/attention.ts), join the heads and
 * project with W_o.
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { scaledDotProductAttention } from '../ops/attention.js';
import { mergeHeads, splitHeads } from '../ops/heads.js';
import { repeatLens, type ValidLens } from '../ops/valid_lens.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MultiHeadAttentionOptions {
  keySize: number;
  querySize: number;
  valueSize: number;
  /** E = H·D, the projected size (d2l's num_hiddens). */
  numHiddens: number;
  /** H; must divide numHiddens. */
  numHeads: number;
  /** Dropout probability on the attention weights in training mode, in [0, 1). */
  dropout: number;
  /** Whether the four Linear layers have a bias (d2l's default: false). */
  bias?: boolean;
  rng?: Random;
  /**
   * true: the fused FlashAttention-style kernels (the unfused composition for head dims above their limit); false:
   * the unfused composition. Default: whichever `scaledDotProductAttention` measures faster for the kernel set and
   * size (src/ops/sdpa_path.ts). Both paths compute the same function.
   */
  fused?: boolean;
  /**
   * Keep the (B·H, L, S) attention weights of the last forward in {@link MultiHeadAttention.attentionWeights}, as
   * d2l's `attention.attention_weights` (for heatmaps). Default false: on the fused path the weights are never
   * materialised, and capturing them costs an extra kernel and an L×S buffer per batch item and head.
   */
  captureWeights?: boolean;
  /**
   * Causal self-attention, a decoder's: query i of L sees keys 0 … S − L + i only, the L queries being the last L
   * of the S key positions (the earlier ones a cache of previous inputs). L = S is `scaledDotProductAttention`'s
   * `causal` (combined with validLens); L = 1, one new token, sees every key. Default false.
   */
  causal?: boolean;
}

export class MultiHeadAttention extends Module {
  readonly numHeads: number;
  readonly numHiddens: number;
  readonly dropout: number;
  readonly W_q: Linear;
  readonly W_k: Linear;
  readonly W_v: Linear;
  readonly W_o: Linear;
  fused: boolean | undefined;
  captureWeights: boolean;
  /** Whether the attention is causal (see {@link MultiHeadAttentionOptions.causal}). */
  readonly causal: boolean;
  /**
   * (B·H, L, S) weights (before dropout) of the last forward when `captureWeights` is set, else null; row
   * b·H + h is head h of batch item b. Owned by the module: replaced by the next forward, freed by dispose().
   */
  attentionWeights: Tensor | null = null;

  /**
   * Parameters `W_q.weight` (numHiddens, querySize), `W_k.weight` (numHiddens, keySize), `W_v.weight`
   * (numHiddens, valueSize), `W_o.weight` (numHiddens, numHiddens) and, with `bias`, `W_q.bias` … (numHiddens):
   * d2l's state_dict names, PyTorch's Linear initialisation.
   * @throws Error when numHeads is not a positive integer dividing numHiddens, or dropout is outside [0, 1).
   */
  constructor({
    keySize,
    querySize,
    valueSize,
    numHiddens,
    numHeads,
    dropout,
    bias = false,
    rng = defaultGenerator(),
    fused,
    captureWeights = false,
    causal = false,
  }: MultiHeadAttentionOptions) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || numHiddens % numHeads !== 0)
      throw new Error(
        `MultiHeadAttention: numHeads must be a positive integer dividing numHiddens = ${numHiddens}, got ${numHeads}`,
      );
    if (!(dropout >= 0 && dropout < 1))
      throw new Error(`MultiHeadAttention: dropout must be in [0, 1), got ${dropout}`);
    this.numHeads = numHeads;
    this.numHiddens = numHiddens;
    this.dropout = dropout;
    this.fused = fused;
    this.captureWeights = captureWeights;
    this.causal = causal;
    // d2l's creation order, so one seed gives one initialisation in both.
    this.W_q = this.addModule('W_q', new Linear(querySize, numHiddens, { bias, rng }));
    this.W_k = this.addModule('W_k', new Linear(keySize, numHiddens, { bias, rng }));
    this.W_v = this.addModule('W_v', new Linear(valueSize, numHiddens, { bias, rng }));
    this.W_o = this.addModule('W_o', new Linear(numHiddens, numHiddens, { bias, rng }));
  }

  /**
   * d2l's forward: W_o(mergeHeads(attention(splitHeads(W_q q), splitHeads(W_k k), splitHeads(W_v v),
   * repeatInterleave(validLens, H)))). Dropout on the attention weights acts only in training mode.
   * @param queries (B, L, querySize) float32.
   * @param keys (B, S, keySize) float32.
   * @param values (B, S, valueSize) float32.
   * @param validLens absent/null (every key valid), (B) int32 (one length per batch item) or (B, L) int32 (one
   *   per query); number[] / number[][] are uploaded as int32. Keys at or past a length get no weight and no
   *   gradient.
   * @returns (B, L, numHiddens).
   * @throws OpError naming `MultiHeadAttention` and the shapes when the inputs are not rank 3 or their batch or
   *   key lengths differ, or with `causal` when L > S or validLens come with 1 < L < S; OpError from Linear when
   *   a feature size is wrong, from the attention op when validLens has the wrong shape or dtype.
   */
  forward(queries: Tensor, keys: Tensor, values: Tensor, validLens?: ValidLens): Tensor {
    const shapes = [queries.shape, keys.shape, values.shape];
    if (shapes.some((s) => s.length !== 3))
      throw new OpError(
        'MultiHeadAttention',
        'expects queries (B, L, ·), keys (B, S, ·), values (B, S, ·)',
        shapes,
      );
    if (keys.shape[0] !== queries.shape[0] || values.shape[0] !== queries.shape[0])
      throw new OpError('MultiHeadAttention', 'queries, keys and values must have one batch size B', shapes);
    if (keys.shape[1] !== values.shape[1])
      throw new OpError('MultiHeadAttention', 'keys and values must have one length S', shapes);
    const h = this.numHeads;
    const q = splitHeads(this.W_q.forward(queries), h);
    const k = splitHeads(this.W_k.forward(keys), h);
    const v = splitHeads(this.W_v.forward(values), h);
    const lens = repeatLens(validLens, h);
    const mask = this.causalMask(queries.shape[0] * h, validLens, shapes);
    const { output, weights } = scaledDotProductAttention(q, k, v, {
      validLens: mask.lens ?? lens,
      causal: mask.causal,
      dropout: this.training ? this.dropout : 0,
      fused: this.fused,
      returnWeights: this.captureWeights,
    });
    this.attentionWeights?.dispose();
    // A handle of its own on the weights' storage: the tidy scope may free its tensor (and the tape may still
    // read it in backward) independently of this module keeping the values.
    this.attentionWeights = weights ? weights.share(weights.shape).keep() : null;
    return this.W_o.forward(mergeHeads(output, h));
  }

  /**
   * The causal mask for (B·H) rows of L queries over S keys: none for L = 1 (the one new query sees every key),
   * the attention op's `causal` for L = S, and per-query lengths S − L + 1 … S, each row (B·H, L), for a cache.
   */
  private causalMask(
    rows: number,
    validLens: unknown,
    shapes: readonly (readonly number[])[],
  ): { causal: boolean; lens: number[][] | null } {
    const [l, s] = [shapes[0][1], shapes[1][1]];
    if (!this.causal || l === 1) return { causal: false, lens: null };
    if (l === s) return { causal: true, lens: null };
    if (l > s || validLens)
      throw new OpError(
        'MultiHeadAttention',
        'causal attention takes L ≤ S queries, and no validLens when keys hold a cache (1 < L < S)',
        shapes,
      );
    const row = Array.from({ length: l }, (_, i) => s - l + i + 1);
    return { causal: false, lens: Array.from({ length: rows }, () => row) };
  }

  override dispose(): void {
    super.dispose();
    this.attentionWeights?.dispose();
    this.attentionWeights = null;
  }
}
