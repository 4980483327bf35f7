/**
 * The Bahdanau seq2seq (d2l 0.17 §9.7 `Seq2SeqEncoder` + §10.4 `Seq2SeqAttentionDecoder`, GRU cells, §11.4 in the
 * newer edition) written with TF.js ops, the forward a TF.js user would write for src/models/seq2seq.ts: the same
 * parameters under the same state_dict names, no dropout (the benchmark's validated setting). Each decoder step
 * queries the encoder outputs with additive attention (d2l's broadcast sum, as in bench/cases/tfjs_attention.ts),
 * feeds [context, embedding] to the GRU layers, and a dense layer maps all step outputs to logits.
 *
 * Shape key: B batch, T source steps, Tt target steps, E embedding, H hidden, L layers, V vocabulary.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { tfAdditiveAttention } from '../cases/tfjs_attention.js';
import type { TF } from '../harness/types.js';
import { param, tfGruCell, tfLinear, type TfParams } from './tfjs_train.js';

/** Layers of a multi-layer GRU at one time step: x (B, I), states L × (B, H) → the new states. */
function gruStep(tf: TF, p: TfParams, prefix: string, x: TfTensor, states: TfTensor[]): TfTensor[] {
  const out: TfTensor[] = [];
  let input = x;
  states.forEach((h, l) => {
    const gi = tfLinear(
      tf,
      input,
      param(p, `${prefix}.weight_ih_l${l}`),
      param(p, `${prefix}.bias_ih_l${l}`),
    );
    input = tfGruCell(tf, gi, h, param(p, `${prefix}.weight_hh_l${l}`), param(p, `${prefix}.bias_hh_l${l}`));
    out.push(input);
  });
  return out;
}

/**
 * Encoder: the input projections of all T steps in one matmul per layer (as cuDNN and our GRU split the work),
 * then the recurrence. @returns [outputs (B, T, H) batch-major, the last state of every layer (B, H)].
 */
function encode(tf: TF, p: TfParams, X: TfTensor, numLayers: number): [TfTensor, TfTensor[]] {
  const b = X.shape[0]!;
  let x: TfTensor = tf.transpose(tf.gather(param(p, 'encoder.embedding.weight'), X), [1, 0, 2]); // (T, B, E)
  const last: TfTensor[] = [];
  for (let l = 0; l < numLayers; l++) {
    const wih = param(p, `encoder.rnn.weight_ih_l${l}`);
    const gi = tfLinear(tf, x, wih, param(p, `encoder.rnn.bias_ih_l${l}`)); // (T, B, 3H)
    let h = tf.zeros([b, wih.shape[0] / 3]);
    const outs = tf
      .unstack(gi, 0)
      .map(
        (g) =>
          (h = tfGruCell(
            tf,
            g,
            h,
            param(p, `encoder.rnn.weight_hh_l${l}`),
            param(p, `encoder.rnn.bias_hh_l${l}`),
          )),
      );
    last.push(h);
    x = tf.stack(outs, 0);
  }
  return [tf.transpose(x, [1, 0, 2]), last];
}

/**
 * Teacher-forced logits of the Bahdanau model.
 * @param X (B, T) int32 source ids; @param XValidLen (B) int32; @param decX (B, Tt) int32 decoder inputs.
 * @param numLayers L. @returns logits (B, Tt, V).
 */
export function tfSeq2SeqLogits(
  tf: TF,
  p: TfParams,
  X: TfTensor,
  XValidLen: TfTensor,
  decX: TfTensor,
  numLayers: number,
): TfTensor {
  const [encOutputs, encState] = encode(tf, p, X, numLayers);
  const [b, tt] = decX.shape as number[];
  const h = encOutputs.shape[2]!;
  const wv = tf.reshape(param(p, 'decoder.attention.w_v.weight'), [h]);
  const emb = tf.unstack(tf.gather(param(p, 'decoder.embedding.weight'), decX), 1); // Tt × (B, E)
  let state = encState;
  const outputs: TfTensor[] = [];
  for (let t = 0; t < tt; t++) {
    const query = tfLinear(
      tf,
      tf.reshape(state[numLayers - 1], [b, 1, h]),
      param(p, 'decoder.attention.W_q.weight'),
    );
    // d2l projects the keys inside AdditiveAttention, so at every step (ours too).
    const keys = tfLinear(tf, encOutputs, param(p, 'decoder.attention.W_k.weight'));
    const context = tfAdditiveAttention(tf, query, keys, wv, encOutputs, XValidLen); // (B, 1, H)
    state = gruStep(tf, p, 'decoder.rnn', tf.concat([tf.reshape(context, [b, h]), emb[t]], 1), state);
    outputs.push(state[numLayers - 1]);
  }
  return tfLinear(tf, tf.stack(outputs, 1), param(p, 'decoder.dense.weight'), param(p, 'decoder.dense.bias'));
}
