/**
 * The masked-token task with attention (beyond the seed): token embedding × √d plus sinusoidal positional encoding
 * (d2l §11.6), one multi-head self-attention layer (d2l §11.5) with a residual connection, and a dense head read
 * out at the cls position, the way BERT reads its prediction at the masked token. Without the residual the
 * cls position loses its own identity and training stalls near 0.44 accuracy (PyTorch too).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { CLS_ID, NUM_CLASSES } from '../data/masked_tokens.js';
import { add, mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { MultiHeadAttention } from '../nn/multi_head_attention.js';
import { PositionalEncoding } from '../nn/positional_encoding.js';
import type { Tensor } from '../runtime/tensor.js';

export interface ClsAttentionOptions {
  numHiddens?: number;
  numHeads?: number;
  dropout?: number;
  /** Keep each forward's (B·H, L, L) weights in `attention.attentionWeights` for heatmaps. */
  captureWeights?: boolean;
  rng?: Random;
}

export class ClsAttention extends Module {
  readonly embedding: Embedding;
  readonly pos: PositionalEncoding;
  readonly attention: MultiHeadAttention;
  readonly dense: Linear;

  constructor({
    numHiddens = 32,
    numHeads = 4,
    dropout = 0,
    captureWeights = false,
    rng = defaultGenerator(),
  }: ClsAttentionOptions = {}) {
    super();
    // Ids 0–25 are letters (0 doubles as "empty"), CLS_ID = 27 the mask; 26 is never used.
    this.embedding = this.addModule('embedding', new Embedding(CLS_ID + 1, numHiddens, { rng }));
    this.pos = this.addModule('pos_encoding', new PositionalEncoding({ numHiddens, dropout }));
    this.attention = this.addModule(
      'attention',
      new MultiHeadAttention({
        keySize: numHiddens,
        querySize: numHiddens,
        valueSize: numHiddens,
        numHiddens,
        numHeads,
        dropout,
        captureWeights,
        rng,
      }),
    );
    this.dense = this.addModule('dense', new Linear(numHiddens, NUM_CLASSES, { rng }));
  }

  /**
   * @param tokens (B, L) int32 ids of the window (the cls id 27 at the masked position).
   * @param clsMask (B, L) float32, 1 at the masked position and 0 elsewhere.
   * @returns logits (B, 26).
   */
  forward(tokens: Tensor, clsMask: Tensor): Tensor {
    const [b, l] = tokens.shape;
    const d = this.embedding.embeddingDim;
    const x = this.pos.forward(mul(this.embedding.forward(tokens), Math.sqrt(d)));
    const h = add(x, this.attention.forward(x, x, x));
    return this.dense.forward(sum(mul(h, reshape(clsMask, [b, l, 1])), 1));
  }
}
