/**
 * The masked-token task solved the way the project's first seed note argues it should be: attention relates the
 * placeholder ("cls") at the unknown position to the other letters of the window, and the answer is read at the
 * placeholder, as BERT reads a masked token (d2l §15.8). The body is d2l's `TransformerEncoder` (§11.7.4), the
 * very classes the translation Transformer uses: embedding × √d plus sinusoidal positional encoding, then blocks of
 * multi-head self-attention → AddNorm → PositionWiseFFN → AddNorm. A dense head maps the cls position's output to
 * the 26 letter classes.
 *
 * The FFN and LayerNorm are what the one-layer `ClsAttention` lacks: with them and a second block the model fits
 * the training set (PyTorch: accuracy 1.000 by epoch 50), where one attention layer and a residual stall near 0.6.
 *
 * State-dict names are those of `scripts/torch/cls_transformer.py`, which builds d2l's modules:
 * `encoder.embedding.weight` (28, d), `encoder.blks.block0.attention.W_q.weight` (d, d), …,
 * `encoder.blks.block1.addnorm2.ln.bias` (d), `dense.weight` (26, d), `dense.bias` (26).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { CLS_ID, NUM_CLASSES } from '../data/masked_tokens.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { engine } from '../runtime/global.js';
import type { Tensor } from '../runtime/tensor.js';
import { TransformerEncoder } from './transformer.js';

export interface ClsTransformerOptions {
  /** d, the model width; even and divisible by numHeads. Default 32. */
  numHiddens?: number;
  /** H, heads per attention layer. Default 4. */
  numHeads?: number;
  /** Hidden width of each block's position-wise FFN. Default 64. */
  ffnNumHiddens?: number;
  /** Encoder blocks. Default 2. */
  numBlocks?: number;
  /** Dropout of the positional encoding, the attention weights and every AddNorm. Default 0. */
  dropout?: number;
  rng?: Random;
}

/** The defaults of the issue that introduced the model, as d2l's fra-eng Transformer without its dropout. */
export const CLS_TRANSFORMER_DEFAULTS = {
  numHiddens: 32,
  numHeads: 4,
  ffnNumHiddens: 64,
  numBlocks: 2,
  dropout: 0,
} as const satisfies Required<Omit<ClsTransformerOptions, 'rng'>>;

/**
 * Shape key: B windows, L = 10 positions, d = numHiddens, H = numHeads.
 * Input: tokens (B, L) int32 ids (letters 0–25, the cls id 27 at the masked position) and clsMask (B, L) float32,
 * one-hot of the masked position. Output: logits (B, 26).
 */
export class ClsTransformer extends Module {
  readonly encoder: TransformerEncoder;
  readonly dense: Linear;

  constructor({ rng = defaultGenerator(), ...options }: ClsTransformerOptions = {}) {
    super();
    const o = { ...CLS_TRANSFORMER_DEFAULTS, ...options };
    // Ids 0–25 are letters (0 doubles as "unwritten"), 27 the placeholder; 26 is never used.
    this.encoder = this.addModule(
      'encoder',
      new TransformerEncoder({
        vocabSize: CLS_ID + 1,
        numHiddens: o.numHiddens,
        numHeads: o.numHeads,
        ffnNumHiddens: o.ffnNumHiddens,
        numBlks: o.numBlocks,
        dropout: o.dropout,
        rng,
      }),
    );
    this.dense = this.addModule('dense', new Linear(o.numHiddens, NUM_CLASSES, { rng }));
  }

  /**
   * @param tokens (B, L) int32 ids of the windows.
   * @param clsMask (B, L) float32, 1 at the masked position and 0 elsewhere.
   * @returns logits (B, 26).
   * @throws OpError from Embedding when tokens is not int32, from the elementwise product when clsMask is not
   *   (B, L).
   */
  forward(tokens: Tensor, clsMask: Tensor): Tensor {
    const [b, l] = tokens.shape;
    // Every window is full length: no key is masked.
    const h = this.encoder.forward(tokens, null); // (B, L, d)
    return this.dense.forward(sum(mul(h, reshape(clsMask, [b, l, 1])), 1));
  }

  /**
   * Whether each block keeps its (B·H, L, L) attention weights in `encoder.attentionWeights` (an extra kernel per
   * block: on for pictures, off for training).
   */
  get captureWeights(): boolean {
    return this.encoder.captureWeights;
  }

  set captureWeights(on: boolean) {
    this.encoder.captureWeights = on;
  }

  /**
   * Where the placeholder looks: the cls row of every block's and head's self-attention for one window, in eval
   * mode without the tape. The model's mode and captureWeights are restored afterwards.
   * @param ids the window's L ids, the cls id 27 at the masked position.
   * @returns weights[block][head], each L weights over the window's positions (they sum to 1).
   * @throws Error when ids holds no cls id.
   */
  async clsAttention(ids: readonly number[]): Promise<number[][][]> {
    const p = ids.indexOf(CLS_ID);
    if (p < 0) throw new Error(`ClsTransformer.clsAttention: no cls id ${CLS_ID} in [${ids.join(', ')}]`);
    const e = engine();
    const l = ids.length;
    const [training, capturing] = [this.training, this.captureWeights];
    this.eval();
    this.captureWeights = true;
    try {
      return await e.tidyAsync(async () => {
        const tokens = e.fromArray(ids, [1, l], 'int32');
        const clsMask = e.fromArray(
          ids.map((t) => (t === CLS_ID ? 1 : 0)),
          [1, l],
        );
        e.noGrad(() => this.forward(tokens, clsMask));
        // Each block keeps (H, L, L) for the one window: row h·L + p is head h's cls row.
        const blocks = await Promise.all(this.encoder.attentionWeights.map((w) => w!.data()));
        const heads = blocks[0].length / (l * l);
        return blocks.map((w) =>
          Array.from({ length: heads }, (_, h) =>
            Array.from(w.subarray((h * l + p) * l, (h * l + p + 1) * l)),
          ),
        );
      });
    } finally {
      this.captureWeights = capturing;
      this.train(training);
    }
  }

  /** Frees the parameters and what the encoder holds besides them (P, kept attention weights). */
  override dispose(): void {
    super.dispose();
    this.encoder.dispose();
  }
}
