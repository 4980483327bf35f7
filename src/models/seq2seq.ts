/**
 * The RNN encoder-decoder with Bahdanau attention: d2l 0.17 §9.7 `Seq2SeqEncoder` and §10.4
 * `Seq2SeqAttentionDecoder` (§10.7 and §11.4 "The Bahdanau Attention Mechanism" in the newer edition), with
 * d2l's `xavier_init_weights` (Xavier-uniform on every Linear weight and recurrent weight matrix). Parameter names
 * are those of the d2l 0.17 modules' `state_dict` (`encoder.rnn.weight_ih_l0`, `decoder.attention.W_k.weight`, …).
 * The recurrent cell is d2l's GRU or, as in the older (MXNet-era) course variant of this model, an LSTM, whose
 * state is [h, c] per layer and whose `nn.LSTM` weights have 4H rows instead of 3H.
 *
 * Shape key: B batch, T source steps, Tt target steps, E embedding size, H hidden size, L layers, V vocabulary.
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { AdditiveAttention } from '../nn/attention_scoring.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { GRU, LSTM } from '../nn/rnn.js';
import { xavierUniform } from '../nn/xavier.js';
import { concat, stack, unbind } from '../ops/concat.js';
import { splitHeads } from '../ops/heads.js';
import { reshape } from '../ops/shape.js';
import type { Tensor } from '../runtime/tensor.js';
import { Decoder, Encoder, EncoderDecoder } from './encoder_decoder.js';

export interface Seq2SeqOptions {
  vocabSize: number;
  embedSize: number;
  numHiddens: number;
  numLayers: number;
  /** Dropout between recurrent layers (and, in the decoder, on the attention weights), in training. */
  dropout?: number;
  /** The recurrent cell (default 'gru', d2l's). */
  cell?: Cell;
  rng?: Random;
}

/** Which recurrent module the encoder and decoder use. */
export type Cell = 'gru' | 'lstm';

/** The recurrent state: GRU's h (L, B, H), or LSTM's [h, c], each (L, B, H). */
export type RNNState = Tensor | [Tensor, Tensor];

/** A multi-layer GRU or LSTM, Xavier-initialised as d2l's `xavier_init_weights` does. */
function recurrent(
  cell: Cell,
  inputSize: number,
  h: number,
  numLayers: number,
  dropout: number,
  rng: Random,
) {
  const options = { numLayers, dropout, rng, xavier: true };
  if (cell === 'gru') return new GRU(inputSize, h, options);
  if (cell === 'lstm') return new LSTM(inputSize, h, options);
  throw new Error(`seq2seq: cell must be 'gru' or 'lstm', got "${cell as string}"`);
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

/** d2l's `Seq2SeqEncoder`: embedding, then a multi-layer GRU (or LSTM) over the time-major embeddings. */
export class Seq2SeqEncoder extends Encoder<[Tensor, RNNState]> {
  readonly embedding: Embedding;
  readonly rnn: GRU | LSTM;

  constructor({
    vocabSize,
    embedSize,
    numHiddens,
    numLayers,
    dropout = 0,
    cell = 'gru',
    rng = defaultGenerator(),
  }: Seq2SeqOptions) {
    super();
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, embedSize, { rng }));
    this.rnn = this.addModule('rnn', recurrent(cell, embedSize, numHiddens, numLayers, dropout, rng));
  }

  /**
   * @param X (B, T) int32 source ids.
   * @param _validLens (B) int32; unused, as in d2l (the decoder's attention masks with them).
   * @returns [outputs (T, B, H): the last layer's h at every step, state: every layer's last h (L, B, H), or with
   *   an LSTM its last [h, c], each (L, B, H)].
   */
  forward(X: Tensor, _validLens: Tensor): [Tensor, RNNState] {
    return this.rnn.forward(swapLeadingAxes(this.embedding.forward(X)));
  }
}

/** The decoder state: encoder outputs (B, T, H), recurrent state (see {@link RNNState}), source lengths (B) int32. */
export type Seq2SeqAttentionState = [Tensor, RNNState, Tensor];

/**
 * d2l's `Seq2SeqAttentionDecoder`: at each step the last layer's hidden state (an LSTM's h, not its c) queries the
 * encoder outputs with additive attention; the context is concatenated before the embedded token and fed to the
 * recurrent cell; a dense layer maps its outputs to logits.
 */
export class Seq2SeqAttentionDecoder extends Decoder<[Tensor, RNNState], Seq2SeqAttentionState> {
  readonly attention: AdditiveAttention;
  readonly embedding: Embedding;
  readonly rnn: GRU | LSTM;
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
    cell = 'gru',
    rng = defaultGenerator(),
  }: Seq2SeqOptions) {
    super();
    const h = numHiddens;
    this.attention = this.addModule(
      'attention',
      new AdditiveAttention({ keySize: h, querySize: h, numHiddens: h, dropout, rng }),
    );
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, embedSize, { rng }));
    this.rnn = this.addModule('rnn', recurrent(cell, embedSize + h, h, numLayers, dropout, rng));
    this.dense = this.addModule('dense', new Linear(h, vocabSize, { rng }));
    for (const l of [this.attention.W_k, this.attention.W_q, this.attention.w_v, this.dense])
      xavierLinear(l, rng);
  }

  /**
   * d2l's `init_state`: encoder outputs permuted to batch-major (B, T, H), its final state (an LSTM's (h, c)), the
   * source lengths.
   */
  initState([outputs, hiddenState]: [Tensor, RNNState], encValidLens: Tensor): Seq2SeqAttentionState {
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
    // The state stays split per layer through the loop (one split before, one stack after, not one per step).
    const lstm = this.rnn instanceof LSTM;
    const [h0, c0] = Array.isArray(hiddenState) ? hiddenState : [hiddenState, null];
    const hs = this.rnn.initialStates(emb, b, h0, lstm ? 'h0' : 'state');
    const cs = c0 ? this.rnn.initialStates(emb, b, c0, 'c0') : [];
    let layers: [Tensor, Tensor | null][] = hs.map((hl, i) => [hl, cs[i] ?? null]);
    for (const x of steps) {
      const query = reshape(layers[l - 1][0], [b, 1, h]);
      const context = this.attention.forward(query, encOutputs, encOutputs, encValidLens);
      const input = concat([reshape(context, [b, h]), x], 1);
      layers =
        this.rnn instanceof LSTM
          ? this.rnn.step(input, layers as [Tensor, Tensor][])
          : this.rnn
              .step(
                input,
                layers.map(([hl]) => hl),
              )
              .map((hl) => [hl, null]);
      outputs.push(reshape(layers[l - 1][0], [b, 1, h]));
      this.attentionWeights.push(this.attention.attentionWeights!);
    }
    const hN = stack(
      layers.map(([hl]) => hl),
      0,
    );
    const state: RNNState = lstm
      ? [
          hN,
          stack(
            layers.map(([, cl]) => cl!),
            0,
          ),
        ]
      : hN;
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
  /** 'gru' (default, d2l's) or 'lstm'. */
  cell?: Cell;
  rng?: Random;
}

/**
 * The Bahdanau model d2l trains: `EncoderDecoder(Seq2SeqEncoder(...), Seq2SeqAttentionDecoder(...))`.
 * @throws Error when `cell` is neither 'gru' nor 'lstm'.
 */
export function seq2seqAttention({
  srcVocabSize,
  tgtVocabSize,
  embedSize = 32,
  numHiddens = 32,
  numLayers = 2,
  dropout = 0.1,
  cell = 'gru',
  rng = defaultGenerator(),
}: Seq2SeqAttentionConfig): EncoderDecoder<[Tensor, RNNState], Seq2SeqAttentionState> {
  const common = { embedSize, numHiddens, numLayers, dropout, cell, rng };
  return new EncoderDecoder(
    new Seq2SeqEncoder({ vocabSize: srcVocabSize, ...common }),
    new Seq2SeqAttentionDecoder({ vocabSize: tgtVocabSize, ...common }),
  );
}
