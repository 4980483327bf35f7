/**
 * The encoder-decoder interface of d2l §10.6: an encoder reads the source, the decoder's state is initialised from
 * the encoder's outputs, and the decoder maps target tokens (and its state) to logits. Both the Bahdanau seq2seq
 * and the Transformer implement it, so training, greedy prediction and checkpoints are written once.
 */
import { Module } from '../nn/module.js';
import type { Tensor } from '../runtime/tensor.js';

export abstract class Encoder<Out> extends Module {
  /**
   * @param X (B, T) int32 source token ids.
   * @param validLens (B) int32 source lengths (tokens before padding).
   */
  abstract override forward(X: Tensor, validLens: Tensor): Out;
}

export abstract class Decoder<Out, State> extends Module {
  /** The state before the first target token, from the encoder's outputs and the source lengths. */
  abstract initState(encOutputs: Out, encValidLens: Tensor): State;
  /**
   * @param X (B, T) int32 target token ids (teacher forcing in training; T = 1 when predicting).
   * @returns logits (B, T, V) and the next state.
   */
  abstract override forward(X: Tensor, state: State): [Tensor, State];
}

/** `EncoderDecoder` (d2l §10.6): logits for decoder inputs given the source. */
export class EncoderDecoder<Out, State> extends Module {
  constructor(
    readonly encoder: Encoder<Out>,
    readonly decoder: Decoder<Out, State>,
  ) {
    super();
    this.addModule('encoder', encoder);
    this.addModule('decoder', decoder);
  }

  /**
   * @param encX (B, Ts) int32 source ids; @param decX (B, Tt) int32 decoder inputs;
   * @param encValidLens (B) int32 source lengths. @returns logits (B, Tt, V).
   */
  forward(encX: Tensor, decX: Tensor, encValidLens: Tensor): Tensor {
    const encOutputs = this.encoder.forward(encX, encValidLens);
    return this.decoder.forward(decX, this.decoder.initState(encOutputs, encValidLens))[0];
  }
}
