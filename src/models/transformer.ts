/**
 * The Transformer of d2l §11.7 (d2l 0.17 §10.7) for sequence-to-sequence learning: an encoder of self-attention
 * blocks over the source and a decoder of masked self-attention + encoder-decoder attention blocks, each sublayer
 * wrapped in AddNorm. Built from MultiHeadAttention (fused attention kernels), PositionWiseFFN, AddNorm,
 * Embedding and PositionalEncoding; it writes no gradient of its own.
 *
 * State-dict names are those of d2l's PyTorch modules: the blocks live in an `nn.Sequential` named `blks`, added
 * with `add_module("block" + str(i), …)`, so names read `encoder.blks.block0.attention.W_q.weight`,
 * `encoder.blks.block0.addnorm1.ln.weight`, `encoder.blks.block0.ffn.dense1.weight`,
 * `decoder.blks.block1.attention2.W_o.weight`, `decoder.dense.bias`, … PositionalEncoding's P is a plain
 * attribute in d2l, so it is not in the state dict (nor here).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { MultiHeadAttention } from '../nn/multi_head_attention.js';
import { PositionalEncoding } from '../nn/positional_encoding.js';
import { AddNorm, PositionWiseFFN } from '../nn/transformer_blocks.js';
import { concat, slice } from '../ops/concat.js';
import { add, mul } from '../ops/elementwise.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { Decoder, Encoder, EncoderDecoder } from './encoder_decoder.js';

/** Architecture hyperparameters (d2l's constructor arguments). */
export interface TransformerConfig {
  /** d, the model width (embedding, attention and block outputs); even, divisible by numHeads. */
  numHiddens: number;
  /** Blocks in the encoder and in the decoder. */
  numBlks: number;
  /** Dropout probability of the positional encoding, the attention weights and every AddNorm, in [0, 1). */
  dropout: number;
  /** Hidden width of the position-wise FFN. */
  ffnNumHiddens: number;
  numHeads: number;
  /** Longest sequence the positional encoding covers (d2l's default 1000). */
  maxLen?: number;
}

/** d2l 0.17 §10.7's fra-eng Transformer: num_hiddens 32, num_layers 2, dropout 0.1, FFN 64, 4 heads. */
export const D2L_TRANSFORMER_CONFIG: Readonly<TransformerConfig> = {
  numHiddens: 32,
  numBlks: 2,
  dropout: 0.1,
  ffnNumHiddens: 64,
  numHeads: 4,
};

interface BlockOptions {
  numHiddens: number;
  ffnNumHiddens: number;
  numHeads: number;
  dropout: number;
  rng?: Random;
}

/** d2l's `nn.Sequential` of blocks registered as `block0`, `block1`, …, which fixes the state-dict names. */
class Blocks<M extends Module> extends Module {
  constructor(readonly list: M[]) {
    super();
    list.forEach((m, i) => this.addModule(`block${i}`, m));
  }

  /** Blocks are called one by one with their own arguments, never through the container. */
  forward(): never {
    throw new Error('Blocks: call the blocks in `list` one by one');
  }
}

function attentionLayer(o: BlockOptions, rng: Random, bias: boolean, causal = false): MultiHeadAttention {
  const { numHiddens, numHeads, dropout } = o;
  const size = { keySize: numHiddens, querySize: numHiddens, valueSize: numHiddens };
  return new MultiHeadAttention({ ...size, numHiddens, numHeads, dropout, bias, rng, causal });
}

/**
 * dropout(embedding(x)·√d + P[offset : offset + T]), shared by encoder and decoder; x (B, T) int32.
 * @throws OpError naming `Transformer` when offset + T exceeds the positional encoding's maxLen.
 */
function embed(embedding: Embedding, pos: PositionalEncoding, x: Tensor, offset = 0): Tensor {
  // P lies in [−1, 1]; scaling the N(0, 1) embedding by √d keeps it from drowning the token (d2l's comment).
  const e = mul(embedding.forward(x), Math.sqrt(embedding.embeddingDim));
  if (offset === 0) return pos.forward(e);
  const t = x.shape[1];
  if (offset + t > pos.maxLen)
    throw new OpError('Transformer', `positions ${offset}…${offset + t - 1} exceed maxLen = ${pos.maxLen}`, [
      x.shape,
      pos.P.shape,
    ]);
  return pos.dropout.forward(add(e, slice(pos.P, 1, offset, offset + t)));
}

/** d2l's `TransformerEncoderBlock`: AddNorm(X, MHA(X, X, X, validLens)) then AddNorm(Y, FFN(Y)). */
export class TransformerEncoderBlock extends Module {
  readonly attention: MultiHeadAttention;
  readonly addnorm1: AddNorm;
  readonly ffn: PositionWiseFFN;
  readonly addnorm2: AddNorm;

  /** @param useBias whether the attention projections have biases (d2l's default false). */
  constructor({ useBias = false, rng = defaultGenerator(), ...o }: BlockOptions & { useBias?: boolean }) {
    super();
    this.attention = this.addModule('attention', attentionLayer(o, rng, useBias));
    this.addnorm1 = this.addModule('addnorm1', new AddNorm(o.numHiddens, o.dropout));
    this.ffn = this.addModule(
      'ffn',
      new PositionWiseFFN(o.numHiddens, o.ffnNumHiddens, o.numHiddens, { rng }),
    );
    this.addnorm2 = this.addModule('addnorm2', new AddNorm(o.numHiddens, o.dropout));
  }

  /**
   * @param x (B, T, d) float32.
   * @param validLens (B) int32 source lengths: keys at or past them get no weight.
   * @returns (B, T, d).
   */
  forward(x: Tensor, validLens: Tensor | null): Tensor {
    const y = this.addnorm1.forward(x, this.attention.forward(x, x, x, validLens));
    return this.addnorm2.forward(y, this.ffn.forward(y));
  }
}

export interface TransformerEncoderOptions extends TransformerConfig {
  vocabSize: number;
  useBias?: boolean;
  rng?: Random;
}

/** d2l's `TransformerEncoder`: numBlks encoder blocks over embedding × √d + positional encoding. */
export class TransformerEncoder extends Encoder<Tensor> {
  readonly numHiddens: number;
  readonly embedding: Embedding;
  readonly posEncoding: PositionalEncoding;
  readonly blks: Blocks<TransformerEncoderBlock>;

  constructor({ vocabSize, numBlks, maxLen, rng = defaultGenerator(), ...o }: TransformerEncoderOptions) {
    super();
    this.numHiddens = o.numHiddens;
    // d2l's creation order (embedding, then the blocks), so one seed gives one initialisation.
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, o.numHiddens, { rng }));
    this.posEncoding = this.addModule(
      'pos_encoding',
      new PositionalEncoding({ numHiddens: o.numHiddens, dropout: o.dropout, maxLen }),
    );
    const list = Array.from({ length: numBlks }, () => new TransformerEncoderBlock({ ...o, rng }));
    this.blks = this.addModule('blks', new Blocks(list));
  }

  /**
   * @param X (B, T) int32 source ids.
   * @param validLens (B) int32 source lengths, or null when every position is valid.
   * @returns (B, T, numHiddens).
   * @throws OpError from Embedding when X is not int32, from MultiHeadAttention when validLens is malformed.
   */
  forward(X: Tensor, validLens: Tensor | null): Tensor {
    let h = embed(this.embedding, this.posEncoding, X);
    for (const blk of this.blks.list) h = blk.forward(h, validLens);
    return h;
  }

  /**
   * d2l's `attention_weights`: per block the (B·H, T, T) self-attention weights of the last forward (row b·H + h
   * is head h of item b), or null unless {@link captureWeights} is on.
   */
  get attentionWeights(): (Tensor | null)[] {
    return this.blks.list.map((b) => b.attention.attentionWeights);
  }

  /** Whether the attention layers keep their weights (an extra kernel per layer; off for training). */
  get captureWeights(): boolean {
    return this.blks.list.every((b) => b.attention.captureWeights);
  }

  set captureWeights(on: boolean) {
    for (const b of this.blks.list) b.attention.captureWeights = on;
  }
}

/**
 * d2l's decoder state `[enc_outputs, enc_valid_lens, [None] * num_blks]`: keyValues[i] holds every decoder input
 * block i has seen so far (B, t, d) while decoding token by token, null before the first call.
 */
export interface TransformerDecoderState {
  /** (B, S, d) encoder outputs. */
  encOutputs: Tensor;
  /** (B) int32 source lengths. */
  encValidLens: Tensor;
  keyValues: (Tensor | null)[];
}

/**
 * d2l's `TransformerDecoderBlock` i: masked self-attention over the inputs so far → AddNorm → attention over the
 * encoder outputs (masked by the source lengths) → AddNorm → FFN → AddNorm.
 *
 * The self-attention is causal (MultiHeadAttention's `causal`): each of T new queries after P cached positions sees
 * keys 0 … P + t. d2l passes `dec_valid_lens = arange(1, T + 1)` in training (P = 0) and None when predicting
 * (T = 1, where every key is allowed); causal is both. d2l also passes None for an eval-mode forward of a whole
 * target (T > 1), which lets queries see later tokens; here that forward stays causal, so it equals decoding token
 * by token.
 */
export class TransformerDecoderBlock extends Module {
  readonly i: number;
  readonly attention1: MultiHeadAttention;
  readonly addnorm1: AddNorm;
  readonly attention2: MultiHeadAttention;
  readonly addnorm2: AddNorm;
  readonly ffn: PositionWiseFFN;
  readonly addnorm3: AddNorm;

  /** @param i the block's index, its slot in the state's keyValues. */
  constructor({ i, rng = defaultGenerator(), ...o }: BlockOptions & { i: number }) {
    super();
    this.i = i;
    this.attention1 = this.addModule('attention1', attentionLayer(o, rng, false, true));
    this.addnorm1 = this.addModule('addnorm1', new AddNorm(o.numHiddens, o.dropout));
    this.attention2 = this.addModule('attention2', attentionLayer(o, rng, false));
    this.addnorm2 = this.addModule('addnorm2', new AddNorm(o.numHiddens, o.dropout));
    this.ffn = this.addModule(
      'ffn',
      new PositionWiseFFN(o.numHiddens, o.ffnNumHiddens, o.numHiddens, { rng }),
    );
    this.addnorm3 = this.addModule('addnorm3', new AddNorm(o.numHiddens, o.dropout));
  }

  /**
   * @param x (B, T, d) float32 decoder inputs (the whole shifted target in training, T = 1 when predicting).
   * @param state the decoder state; keyValues[i] (B, P, d) holds the inputs of earlier calls, or null.
   * @returns (B, T, d) and a new state whose keyValues[i] is [keyValues[i], x] (B, P + T, d).
   * @throws OpError naming `TransformerDecoderBlock` when x and the cached inputs differ in B or d.
   */
  forward(x: Tensor, state: TransformerDecoderState): [Tensor, TransformerDecoderState] {
    const cached = state.keyValues[this.i];
    if (cached && (cached.shape[0] !== x.shape[0] || cached.shape[2] !== x.shape[2]))
      throw new OpError('TransformerDecoderBlock', 'cached inputs and X must share B and d', [
        cached.shape,
        x.shape,
      ]);
    const keyValues = cached ? concat([cached, x], 1) : x;
    const y = this.addnorm1.forward(x, this.attention1.forward(x, keyValues, keyValues));
    const { encOutputs, encValidLens } = state;
    const z = this.addnorm2.forward(y, this.attention2.forward(y, encOutputs, encOutputs, encValidLens));
    const kv = [...state.keyValues];
    kv[this.i] = keyValues;
    return [this.addnorm3.forward(z, this.ffn.forward(z)), { ...state, keyValues: kv }];
  }
}

export interface TransformerDecoderOptions extends TransformerConfig {
  vocabSize: number;
  rng?: Random;
}

/** One decoding step's attention weights per block, as d2l's `_attention_weights` [self, cross]. */
export interface DecoderStepWeights {
  /** Per block (B·H, T, P + T) decoder self-attention weights. */
  self: Tensor[];
  /** Per block (B·H, T, S) encoder-decoder attention weights. */
  cross: Tensor[];
}

/** d2l's `TransformerDecoder`: numBlks decoder blocks over embedding × √d + positional encoding, then dense. */
export class TransformerDecoder extends Decoder<Tensor, TransformerDecoderState> {
  readonly numHiddens: number;
  readonly numBlks: number;
  readonly embedding: Embedding;
  readonly posEncoding: PositionalEncoding;
  readonly blks: Blocks<TransformerDecoderBlock>;
  readonly dense: Linear;
  /**
   * With {@link captureWeights} on, one entry per forward (per decoded token when predicting), like d2l's
   * `attention_weight_seq`; tensors owned by the decoder until {@link clearRecorded} or dispose.
   */
  readonly recorded: DecoderStepWeights[] = [];

  constructor({ vocabSize, numBlks, maxLen, rng = defaultGenerator(), ...o }: TransformerDecoderOptions) {
    super();
    this.numHiddens = o.numHiddens;
    this.numBlks = numBlks;
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, o.numHiddens, { rng }));
    this.posEncoding = this.addModule(
      'pos_encoding',
      new PositionalEncoding({ numHiddens: o.numHiddens, dropout: o.dropout, maxLen }),
    );
    const list = Array.from({ length: numBlks }, (_, i) => new TransformerDecoderBlock({ ...o, i, rng }));
    this.blks = this.addModule('blks', new Blocks(list));
    this.dense = this.addModule('dense', new Linear(o.numHiddens, vocabSize, { rng }));
  }

  /** d2l's `init_state`: [encOutputs, encValidLens, [None] * numBlks]. */
  initState(encOutputs: Tensor, encValidLens: Tensor): TransformerDecoderState {
    return { encOutputs, encValidLens, keyValues: new Array<Tensor | null>(this.numBlks).fill(null) };
  }

  /**
   * @param X (B, T) int32 target ids: `<bos>` + the shifted target in training, the last emitted token (T = 1)
   *   when predicting.
   * @returns logits (B, T, V) and the state with every block's inputs appended.
   */
  forward(X: Tensor, state: TransformerDecoderState): [Tensor, TransformerDecoderState] {
    // New tokens continue the positions of the cached prefix. d2l adds P[:T] to every call's X, so when it
    // predicts token by token every token gets position 0, unlike in training; offsetting makes decoding token by
    // token compute exactly the causal forward of the whole prefix.
    let h = embed(this.embedding, this.posEncoding, X, state.keyValues[0]?.shape[1] ?? 0);
    for (const blk of this.blks.list) [h, state] = blk.forward(h, state);
    if (this.captureWeights) this.record();
    return [this.dense.forward(h), state];
  }

  private record(): void {
    const own = (t: Tensor | null) => t!.share(t!.shape).keep();
    this.recorded.push({
      self: this.blks.list.map((b) => own(b.attention1.attentionWeights)),
      cross: this.blks.list.map((b) => own(b.attention2.attentionWeights)),
    });
  }

  /** Frees the recorded weights. */
  clearRecorded(): void {
    for (const step of this.recorded.splice(0)) for (const t of [...step.self, ...step.cross]) t.dispose();
  }

  /** Whether the attention layers keep (and the decoder records) their weights; off for training. */
  get captureWeights(): boolean {
    return this.blks.list.every((b) => b.attention1.captureWeights && b.attention2.captureWeights);
  }

  set captureWeights(on: boolean) {
    for (const b of this.blks.list) b.attention1.captureWeights = b.attention2.captureWeights = on;
  }

  /** Frees the parameters, the sub-modules' state and the recorded weights. */
  override dispose(): void {
    super.dispose();
    this.clearRecorded();
  }
}

/** d2l's `EncoderDecoder(TransformerEncoder, TransformerDecoder)`, with its parts' concrete types. */
export class Transformer extends EncoderDecoder<Tensor, TransformerDecoderState> {
  declare readonly encoder: TransformerEncoder;
  declare readonly decoder: TransformerDecoder;

  constructor(encoder: TransformerEncoder, decoder: TransformerDecoder) {
    super(encoder, decoder);
  }
}

/**
 * The fra-eng Transformer of d2l §11.7: `EncoderDecoder(TransformerEncoder(len(src_vocab), …),
 * TransformerDecoder(len(tgt_vocab), …))`, attention projections without bias.
 * @param config d2l's hyperparameters, e.g. {@link D2L_TRANSFORMER_CONFIG}.
 * @param rng initialisation stream (default: the default generator, see `manualSeed`).
 * @throws Error when numHeads does not divide numHiddens, numHiddens is odd or dropout is outside [0, 1).
 */
export function buildTransformer(
  config: TransformerConfig,
  srcVocabSize: number,
  tgtVocabSize: number,
  rng: Random = defaultGenerator(),
): Transformer {
  const { numHiddens, numBlks, dropout, ffnNumHiddens, numHeads, maxLen } = config;
  const arch = { numHiddens, numBlks, dropout, ffnNumHiddens, numHeads, maxLen, rng };
  return new Transformer(
    new TransformerEncoder({ vocabSize: srcVocabSize, ...arch }),
    new TransformerDecoder({ vocabSize: tgtVocabSize, ...arch }),
  );
}
