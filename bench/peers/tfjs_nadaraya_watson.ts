/**
 * Nadaraya-Watson regression with a learnable width, d2l §10.2.4 "Parametric Attention Pooling"
 * (src/models/nadaraya_watson.ts), written with TF.js ops: weights softmax(−((q − k)·w)²/2) over each query's keys,
 * pooled as d2l's `torch.bmm(attention.unsqueeze(1), values.unsqueeze(-1))`, loss Σ (ŷ − y)².
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import type { TF } from '../harness/types.js';
import { param, type TfParams } from './tfjs_train.js';

/**
 * d2l's training loss `loss(net(x_train, keys, values), y_train).sum()` with `MSELoss(reduction='none')`.
 * @param q (n) queries; @param k (n, m) keys; @param v (n, m) values; @param y (n) targets; `w` (1) in `p`.
 */
export function tfNwLoss(tf: TF, p: TfParams, q: TfTensor, k: TfTensor, v: TfTensor, y: TfTensor): TfTensor {
  const [n, m] = k.shape as number[];
  const scaled = tf.mul(tf.sub(tf.reshape(q, [n, 1]), k), param(p, 'w'));
  const attention = tf.softmax(tf.mul(tf.square(scaled), -0.5), -1);
  const yHat = tf.reshape(tf.matMul(tf.reshape(attention, [n, 1, m]), tf.reshape(v, [n, m, 1])), [n]);
  return tf.sum(tf.square(tf.sub(yHat, y)));
}
