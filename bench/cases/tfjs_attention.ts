/**
 * The peer: attention written with TF.js ops the way d2l's TensorFlow code writes it (§11.3, `masked_softmax`,
 * `DotProductAttention`, `AdditiveAttention`): masked scores are replaced by −1e6 with `tf.where`, then
 * `tf.softmax`; gradients come from `tf.grads`.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import type { TF } from '../harness/types.js';

/**
 * d2l's TensorFlow `masked_softmax`: x (B, L, S); lens (B) int32 (one length per batch item) or (B, L).
 */
export function tfMaskedSoftmax(tf: TF, x: TfTensor, lens: TfTensor): TfTensor {
  const [b, l, s] = x.shape;
  const rowLens =
    lens.rank === 1 ? tf.reshape(tf.tile(tf.reshape(lens, [b, 1]), [1, l]), [-1]) : tf.reshape(lens, [-1]);
  const mask = tf.less(tf.reshape(tf.range(0, s, 1, 'int32'), [1, s]), tf.reshape(rowLens, [b * l, 1]));
  const masked = tf.where(mask, tf.reshape(x, [b * l, s]), tf.fill([b * l, s], -1e6));
  return tf.softmax(tf.reshape(masked, [b, l, s]), -1);
}

/** d2l's `DotProductAttention` (no dropout): q (B, L, D), k (B, S, D), v (B, S, Dv) → (B, L, Dv). */
export function tfDotProductAttention(
  tf: TF,
  q: TfTensor,
  k: TfTensor,
  v: TfTensor,
  lens: TfTensor,
): TfTensor {
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(q.shape[2]!));
  return tf.matMul(tfMaskedSoftmax(tf, scores, lens), v);
}

/**
 * d2l's `AdditiveAttention` after the projections: scores w·tanh(q_i + k_j) through the (B, L, S, H) broadcast
 * sum, masked softmax, then the weighted sum of values. q (B, L, H), k (B, S, H), w (H), v (B, S, Dv).
 */
export function tfAdditiveAttention(
  tf: TF,
  q: TfTensor,
  k: TfTensor,
  w: TfTensor,
  v: TfTensor,
  lens: TfTensor,
): TfTensor {
  const [b, l, h] = q.shape as number[];
  const s = k.shape[1]!;
  const features = tf.tanh(tf.add(tf.reshape(q, [b, l, 1, h]), tf.reshape(k, [b, 1, s, h])));
  const scores = tf.reshape(tf.matMul(tf.reshape(features, [b * l * s, h]), tf.reshape(w, [h, 1])), [
    b,
    l,
    s,
  ]);
  return tf.matMul(tfMaskedSoftmax(tf, scores, lens), v);
}
