/**
 * The masked-token models (src/models/cls_mlp.ts, src/models/cls_attention.ts) written with TF.js ops: the seed's
 * MLP Linear(10, 100) → ReLU → BatchNorm1d(100) (training mode: batch statistics, biased variance, eps 1e-5) →
 * Linear(100, 26), and the attention variant: embedding·√d + sinusoidal P (d2l §11.6), one multi-head
 * self-attention layer (d2l §11.5) with a residual connection, read out at the cls position by a dense layer.
 * Both trained with the mean cross-entropy, as src/experiments/cls_mlp.ts does.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import type { TF } from '../harness/types.js';
import { param, tfLinear, type TfParams } from './tfjs_train.js';
import { tfEmbed, tfMultiHeadAttention } from './tfjs_transformer.js';

/** `F.cross_entropy(logits, labels)`: logits (N, C), labels (N) int32; the mean over N. */
export function tfCrossEntropy(tf: TF, logits: TfTensor, labels: TfTensor): TfTensor {
  const c = logits.shape[1]!;
  return tf.neg(
    tf.mean(tf.sum(tf.mul(tf.oneHot(labels, c, 1, 0, 'float32'), tf.logSoftmax(logits, -1)), -1)),
  );
}

/**
 * The MLP's logits (`Sequential` names `0.*`, `2.*`, `3.*`). The running statistics are not updated: they do not
 * enter the training loss. @param x (N, 10) float32 ids as numbers. @returns (N, 26).
 */
export function tfClsMlpLogits(tf: TF, p: TfParams, x: TfTensor): TfTensor {
  const h = tf.relu(tfLinear(tf, x, param(p, '0.weight'), param(p, '0.bias')));
  const { mean, variance } = tf.moments(h, 0, true);
  const bn = tf.add(
    tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), param(p, '2.weight')),
    param(p, '2.bias'),
  );
  return tfLinear(tf, bn, param(p, '3.weight'), param(p, '3.bias'));
}

/**
 * The attention model's logits. @param tokens (B, L) int32; @param clsMask (B, L) float32, 1 at the cls position;
 * @param P (≥ L, d) positional encoding; @param numHeads H. @returns (B, 26).
 */
export function tfClsAttentionLogits(
  tf: TF,
  p: TfParams,
  P: TfTensor,
  tokens: TfTensor,
  clsMask: TfTensor,
  numHeads: number,
): TfTensor {
  const x = tfEmbed(tf, param(p, 'embedding.weight'), P, tokens);
  const h = tf.add(x, tfMultiHeadAttention(tf, p, 'attention', x, x, null, numHeads));
  const [b, l] = tokens.shape as number[];
  const pooled = tf.sum(tf.mul(h, tf.reshape(clsMask, [b, l, 1])), 1);
  return tfLinear(tf, pooled, param(p, 'dense.weight'), param(p, 'dense.bias'));
}
