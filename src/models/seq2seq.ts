/**
 * The RNN encoder-decoder with Bahdanau attention: d2l 0.17 §9.7 `Seq2SeqEncoder` and §10.4
 * `Seq2SeqAttentionDecoder` (§10.7 and §11.4 "The Bahdanau Attention Mechanism" in the newer edition), with
 * d2l's `xavier_init_weights` (Xavier-uniform on every Linear weight and GRU weight matrix). Parameter names are
 * those of the d2l 0.17 modules' `state_dict` (`encoder.rnn.weight_ih_l0`, `decoder.attention.W_k.weight`, …).
 *
 * Shape key: B batch, T source steps, Tt target steps, E embedding size, H hidden size, L layers, V vocabulary.
 */
import type { Random } from '../data/random.js';
import { AdditiveAttention } from '../nn/attention_scoring.js';
import { Embedding } from '../nn/embedding.js';
import { defaultGenerator } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { GRU } from '../nn/rnn.js';
import { xavierUniform } from '../nn/xavier.js';
import { concat, slice, unbind } from '../ops/concat.js';
import { splitHeads } from '../ops/heads.js';
import { reshape } from '../ops/shape.js';
import type { Tensor } from '../runtime/tensor.js';
import { Decoder, Encoder, EncoderDecoder } from './encoder_decoder.js';

export interface Seq2SeqOptions {
  vocabSize: number;
  embedSize: number;
  numHiddens: number;
  numLayers: number;
  /** Dropout between GRU layers (and, in the decoder, on the attention weights), in training. */
  dropout?: number;
  rng?: Random;
}

/**
 * (A, B, C) → (B, A, C), `x.permute(1, 0, 2)`. The head-split kernel is this permutation when the batch is 1:
 * (1, A, B·C) split into B heads of C is `reshape(1, A, B, C).permute(0, 2, 1, 3)` = (B, A, C).
 */
export function swapLeadingAxes(x: Tensor): Tensor {
  const [a, b, c] = x.shape;
  return splitHeads(reshape(x, [1, a, b * c]), b);
}

/** d2l's `xavier_init_weights` for one Linear: its weight from Xavier-uniform, its bias left as PyTorch's. */
function xavierLinear(linear: Linear, rng: Random): void {
  const w = linear.weight.engine.fromArray(
    xavierUniform(linear.inFeatures, linear.outFeatures, rng),
    linear.weight.shape,
  );
  linear.weight.assign(w);
  w.dispose();
}

/** d2l's `Seq2SeqEncoder`: embedding, then a multi-layer GRU over the time-major embeddings. */
export class Seq2SeqEncoder extends Encoder<[Tensor, Tensor]> {
  readonly embedding: Embedding;
  readonly rnn: GRU;

  constructor({
    vocabSize,
    embedSize,
    numHiddens,
    numLayers,
    dropout = 0,
    rng = defaultGenerator(),
  }: Seq2SeqOptions) {
    super();
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, embedSize, { rng }));
    this.rnn = this.addModule(
      'rnn',
      new GRU(embedSize, numHiddens, { numLayers, dropout, rng, xavier: true }),
    );
  }

  /**
   * @param X (B, T) int32 source ids.
   * @param _validLens (B) int32; unused, as in d2l (the decoder's attention masks with them).
   * @returns [outputs (T, B, H): the last layer's state at every step, state (L, B, H): every layer's last state].
   */
  forward(X: Tensor, _validLens: Tensor): [Tensor, Tensor] {
    return this.rnn.forward(swapLeadingAxes(this.embedding.forward(X)));
  }
}

/** The decoder state: encoder outputs (B, T, H), GRU state (L, B, H), source lengths (B) int32. */
export type Seq2SeqAttentionState = [Tensor, Tensor, Tensor];

/**
 * d2l's `Seq2SeqAttentionDecoder`: at each step the last layer's hidden state queries the encoder outputs with
 * additive attention; the context is concatenated before the embedded token and fed to the GRU; a dense layer maps
 * the GRU outputs to logits.
 */
export class Seq2SeqAttentionDecoder extends Decoder<[Tensor, Tensor], Seq2SeqAttentionState> {
  readonly attention: AdditiveAttention;
  readonly embedding: Embedding;
  readonly rnn: GRU;
  readonly dense: Linear;
  /**
   * One (B, 1, T) tensor per step of the last `forward`, d2l's `attention_weights`; they belong to the caller's
   * `tidy` scope around that call.
   */
  attentionWeights: Tensor[] = [];

  constructor({
    vocabSize,
    embedSize,
    numHiddens,
    numLayers,
    dropout = 0,
    rng = defaultGenerator(),
  }: Seq2SeqOptions) {
    super();
    const h = numHiddens;
    this.attention = this.addModule(
      'attention',
      new AdditiveAttention({ keySize: h, querySize: h, numHiddens: h, dropout, rng }),
    );
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, embedSize, { rng }));
    this.rnn = this.addModule('rnn', new GRU(embedSize + h, h, { numLayers, dropout, rng, xavier: true }));
    this.dense = this.addModule('dense', new Linear(h, vocabSize, { rng }));
    for (const l of [this.attention.W_k, this.attention.W_q, this.attention.w_v, this.dense])
      xavierLinear(l, rng);
  }

  /** d2l's `init_state`: encoder outputs permuted to batch-major (B, T, H), its state, the source lengths. */
  initState([outputs, hiddenState]: [Tensor, Tensor], encValidLens: Tensor): Seq2SeqAttentionState {
    return [swapLeadingAxes(outputs), hiddenState, encValidLens];
  }

  /**
   * @param X (B, Tt) int32 decoder inputs.
   * @param state from {@link initState} or the previous call.
   * @returns [logits (B, Tt, V), the state after the last step]; sets `attentionWeights`.
   */
  forward(
    X: Tensor,
    [encOutputs, hiddenState, encValidLens]: Seq2SeqAttentionState,
  ): [Tensor, Seq2SeqAttentionState] {
    const [b, tt] = X.shape;
    const l = this.rnn.numLayers;
    const h = this.rnn.numHiddens;
    const emb = this.embedding.forward(X);
    const steps = tt === 1 ? [reshape(emb, [b, emb.shape[2]])] : unbind(emb, 1);
    const outputs: Tensor[] = [];
    this.attentionWeights = [];
    let state = hiddenState;
    for (const x of steps) {
      const query = reshape(slice(state, 0, l - 1, l), [b, 1, h]);
      const context = this.attention.forward(query, encOutputs, encOutputs, encValidLens);
      // (B, 1, H + E) and (1, B, H + E) are one memory layout: the GRU's single time step.
      const input = concat([context, reshape(x, [b, 1, x.shape[1]])], 2);
      const [out, next] = this.rnn.forward(reshape(input, [1, b, input.shape[2]]), state);
      state = next;
      outputs.push(reshape(out, [b, 1, h]));
      this.attentionWeights.push(this.attention.attentionWeights!);
    }
    return [this.dense.forward(concat(outputs, 1)), [encOutputs, state, encValidLens]];
  }
}

export interface Seq2SeqAttentionConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  /** Defaults are d2l 0.17 §10.4's: embed 32, hidden 32, 2 layers, dropout 0.1. */
  embedSize?: number;
  numHiddens?: number;
  numLayers?: number;
  dropout?: number;
  rng?: Random;
}

/** The Bahdanau model d2l trains: `EncoderDecoder(Seq2SeqEncoder(...), Seq2SeqAttentionDecoder(...))`. */
export function seq2seqAttention({
  srcVocabSize,
  tgtVocabSize,
  embedSize = 32,
  numHiddens = 32,
  numLayers = 2,
  dropout = 0.1,
  rng = defaultGenerator(),
}: Seq2SeqAttentionConfig): EncoderDecoder<[Tensor, Tensor], Seq2SeqAttentionState> {
  const common = { embedSize, numHiddens, numLayers, dropout, rng };
  return new EncoderDecoder(
    new Seq2SeqEncoder({ vocabSize: srcVocabSize, ...common }),
    new Seq2SeqAttentionDecoder({ vocabSize: tgtVocabSize, ...common }),
  );
}
