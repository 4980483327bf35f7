/**
 * The peer in jax-js: attention as `nn.dotProductAttention` composes it (scores = q·kᵀ·scale, keys at or past
 * `keyValueSeqLengths` set to −∞, softmax, weights·v), written out with `np.matmul` because its einsum uses
 * iterator helpers that Node 20 lacks; d2l's masked softmax (−1e6, as the TF.js peer) and additive attention;
 * gradients by `vjp`, the whole computation under `jit`. Every function consumes its array arguments, as jax-js's
 * own do: an argument used twice is passed on as `.ref` the first time.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import type { Jax } from '../harness/types.js';

/** d2l's masked softmax: x (B, L, S); lens (B) or (B, L) int32; entries at or past the length get −1e6. */
export function jaxMaskedSoftmax(jax: Jax, x: JaxArray, lens: JaxArray): JaxArray {
  const np = jax.numpy;
  const [b, l, s] = x.shape;
  const rowLens = lens.reshape(lens.ndim === 1 ? [b, 1, 1] : [b, l, 1]);
  const mask = np.arange(s).reshape([1, 1, s]).less(rowLens);
  return jax.nn.softmax(np.where(mask, x, -1e6), -1);
}

/**
 * `nn.dotProductAttention(q, k, v, { keyValueSeqLengths: lens })` for one head per batch item: q (B, L, D),
 * k (B, S, D), v (B, S, Dv), lens (B) int32 → (B, L, Dv).
 */
export function jaxDotProductAttention(
  jax: Jax,
  q: JaxArray,
  k: JaxArray,
  v: JaxArray,
  lens: JaxArray,
): JaxArray {
  const np = jax.numpy;
  const [b, , d] = q.shape;
  const s = k.shape[1];
  const scores = np.matmul(q, np.matrixTranspose(k)).mul(1 / Math.sqrt(d));
  const mask = np
    .arange(s)
    .reshape([1, 1, s])
    .less(lens.reshape([b, 1, 1]));
  return np.matmul(jax.nn.softmax(np.where(mask, scores, -Infinity), -1), v);
}

/**
 * d2l's `AdditiveAttention` after the projections, as the TF.js peer: w·tanh(q_i + k_j) through the (B, L, S, H)
 * broadcast sum, masked softmax, weighted sum of values. q (B, L, H), k (B, S, H), w (H), v (B, S, Dv), lens (B).
 */
export function jaxAdditiveAttention(
  jax: Jax,
  q: JaxArray,
  k: JaxArray,
  w: JaxArray,
  v: JaxArray,
  lens: JaxArray,
): JaxArray {
  const np = jax.numpy;
  const [b, l, h] = q.shape;
  const s = k.shape[1];
  const features = np.tanh(q.reshape([b, l, 1, h]).add(k.reshape([b, 1, s, h])));
  const scores = np.matmul(features, w.reshape([h, 1])).reshape([b, l, s]);
  return np.matmul(jaxMaskedSoftmax(jax, scores, lens), v);
}

/**
 * Forward and backward under one `jit`: `f`'s output and, by `vjp` with cotangent `dy`, the gradients of its first
 * `n` arguments. The jitted function takes (…f's arguments, dy) and returns [output, …gradients].
 */
export function jitWithGrads(jax: Jax, n: number, f: (...args: JaxArray[]) => JaxArray) {
  return jax.jit((...args: JaxArray[]) => {
    const dy = args.pop()!;
    const rest = args.slice(n);
    const [out, back] = jax.vjp((...diff: JaxArray[]) => f(...diff, ...rest), args.slice(0, n));
    return [out, ...(back(dy) as JaxArray[])];
  });
}
