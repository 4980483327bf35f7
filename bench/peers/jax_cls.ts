/**
 * The masked-token attention model (src/models/cls_attention.ts) in jax-js, as the TF.js peer
 * (bench/peers/tfjs_cls.ts) writes it: embedding·√d + sinusoidal P, one d2l multi-head self-attention layer
 * (bias-free W_q, W_k, W_v, W_o; heads split into the batch; no mask) with a residual connection, read out at the
 * cls position by a dense layer; mean cross-entropy. Parameters under our state_dict names. Every function consumes
 * its array arguments: a value used twice is passed as `.ref` first.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import type { Jax } from '../harness/types.js';
import type { JaxParams } from './jax_train.js';

/** `nn.Linear`: x (…, I) · Wᵀ + b with W (O, I). */
function linear(jax: Jax, x: JaxArray, w: JaxArray, b?: JaxArray): JaxArray {
  const y = jax.numpy.matmul(x, jax.numpy.matrixTranspose(w));
  return b ? y.add(b) : y;
}

/** (B, L, H·D) → (B·H, L, D), d2l's `transpose_qkv`. */
function splitHeads(jax: Jax, x: JaxArray, h: number): JaxArray {
  const [b, l, e] = x.shape;
  return jax.numpy.transpose(x.reshape([b, l, h, e / h]), [0, 2, 1, 3]).reshape([b * h, l, e / h]);
}

/** (B·H, L, D) → (B, L, H·D), d2l's `transpose_output`. */
function mergeHeads(jax: Jax, x: JaxArray, h: number): JaxArray {
  const [bh, l, d] = x.shape;
  return jax.numpy.transpose(x.reshape([bh / h, h, l, d]), [0, 2, 1, 3]).reshape([bh / h, l, h * d]);
}

/** d2l's `MultiHeadAttention` of x over itself, without mask, under `attention.*`. */
function selfAttention(jax: Jax, p: JaxParams, x: JaxArray, h: number): JaxArray {
  const np = jax.numpy;
  const [q, k, v] = (['W_q', 'W_k', 'W_v'] as const).map((n, i) =>
    splitHeads(jax, linear(jax, i < 2 ? x.ref : x, p[`attention.${n}.weight`]), h),
  );
  const d = q.shape[2];
  const weights = jax.nn.softmax(np.matmul(q, np.matrixTranspose(k)).mul(1 / Math.sqrt(d)), -1);
  return linear(jax, mergeHeads(jax, np.matmul(weights, v), h), p['attention.W_o.weight']);
}

/**
 * The mean cross-entropy of the model's logits. @param tokens (B, L) int32; @param clsMask (B, L) float32, 1 at
 * the cls position; @param P (L, d) positional encoding; @param labels (B) int32.
 */
export function jaxClsAttentionLoss(
  jax: Jax,
  p: JaxParams,
  [tokens, clsMask, P, labels]: JaxArray[],
  numHeads: number,
): JaxArray {
  const np = jax.numpy;
  const [b, l] = tokens.shape;
  const table = p['embedding.weight'];
  const d = table.shape[1];
  const x = np.take(table, tokens, 0).mul(Math.sqrt(d)).add(P);
  const hidden = x.ref.add(selfAttention(jax, p, x, numHeads));
  const pooled = np.sum(hidden.mul(clsMask.reshape([b, l, 1])), 1);
  const logits = linear(jax, pooled, p['dense.weight'], p['dense.bias']);
  const classes = logits.shape[1];
  return np.mean(np.sum(jax.nn.oneHot(labels, classes).mul(jax.nn.logSoftmax(logits, -1)), -1)).mul(-1);
}
