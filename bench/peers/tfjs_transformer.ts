/**
 * The Transformer of d2l §11.7 (d2l 0.17 §10.7; src/models/transformer.ts) written with TF.js ops, the forward a
 * TF.js user would write: embedding × √d + sinusoidal P, encoder blocks AddNorm(X, MHA(X, X, X)) →
 * AddNorm(Y, FFN(Y)), decoder blocks with causal self-attention, encoder-decoder attention and the FFN, then a
 * dense layer. Multi-head attention is d2l's: W_q, W_k, W_v without bias, heads split into the batch, scaled dot
 * product with d2l's masked softmax (bench/cases/tfjs_attention.ts), heads merged, W_o. No dropout (the
 * benchmark's validated setting). Parameters under our state_dict names.
 *
 * Shape key: B batch, T source steps, Tt target steps, d model width, H heads, D = d / H, V vocabulary.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { tfDotProductAttention } from '../cases/tfjs_attention.js';
import type { TF } from '../harness/types.js';
import { param, tfLayerNorm, tfLinear, type TfParams } from './tfjs_train.js';

/** Model shape: width d, heads, blocks. */
export interface TfTransformerShape {
  numHiddens: number;
  numHeads: number;
  numBlks: number;
}

/** (B, L, H·D) → (B·H, L, D), d2l's `transpose_qkv`. */
function splitHeads(tf: TF, x: TfTensor, h: number): TfTensor {
  const [b, l, e] = x.shape as number[];
  return tf.reshape(tf.transpose(tf.reshape(x, [b, l, h, e / h]), [0, 2, 1, 3]), [b * h, l, e / h]);
}

/** (B·H, L, D) → (B, L, H·D), d2l's `transpose_output`. */
function mergeHeads(tf: TF, x: TfTensor, h: number): TfTensor {
  const [bh, l, d] = x.shape as number[];
  return tf.reshape(tf.transpose(tf.reshape(x, [bh / h, h, l, d]), [0, 2, 1, 3]), [bh / h, l, h * d]);
}

/**
 * d2l's `MultiHeadAttention` (bias-free projections under `<at>.W_q.weight`, …) of q (B, L, d) over kv (B, S, d);
 * lens already repeated per head, (B·H) or (B·H, L) int32, or null when every key is valid. @returns (B, L, d).
 */
export function tfMultiHeadAttention(
  tf: TF,
  p: TfParams,
  at: string,
  q: TfTensor,
  kv: TfTensor,
  lens: TfTensor | null,
  h: number,
): TfTensor {
  const w = (n: string) => param(p, `${at}.${n}.weight`);
  const [qh, kh, vh] = [
    tfLinear(tf, q, w('W_q')),
    tfLinear(tf, kv, w('W_k')),
    tfLinear(tf, kv, w('W_v')),
  ].map((x) => splitHeads(tf, x, h));
  const heads = lens
    ? tfDotProductAttention(tf, qh, kh, vh, lens)
    : tf.matMul(tf.softmax(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(qh.shape[2]!)), -1), vh);
  return tfLinear(tf, mergeHeads(tf, heads, h), w('W_o'));
}

const mha = tfMultiHeadAttention;

/** d2l's `AddNorm` without dropout: ln(Y + X). */
function addNorm(tf: TF, p: TfParams, at: string, x: TfTensor, y: TfTensor): TfTensor {
  return tfLayerNorm(tf, tf.add(y, x), param(p, `${at}.ln.weight`), param(p, `${at}.ln.bias`));
}

/** d2l's `PositionWiseFFN`: dense2(relu(dense1(x))). */
function ffn(tf: TF, p: TfParams, at: string, x: TfTensor): TfTensor {
  const dense = (n: string, v: TfTensor) =>
    tfLinear(tf, v, param(p, `${at}.${n}.weight`), param(p, `${at}.${n}.bias`));
  return dense('dense2', tf.relu(dense('dense1', x)));
}

/** embedding(ids)·√d + P[:T]: ids (B, T) int32, weight (V, d), P (≥ T, d). @returns (B, T, d). */
export function tfEmbed(tf: TF, weight: TfTensor, P: TfTensor, ids: TfTensor): TfTensor {
  const d = weight.shape[1]!;
  return tf.add(tf.mul(tf.gather(weight, ids), Math.sqrt(d)), tf.slice(P, [0, 0], [ids.shape[1]!, d]));
}

/** The mask inputs, built once per batch: every entry repeated for the H heads of its batch item. */
export interface TfTransformerLens {
  /** (B·H) int32 source lengths (encoder self-attention and encoder-decoder attention). */
  enc: TfTensor;
  /** (B·H, Tt) int32 causal lengths t + 1 (decoder self-attention in training). */
  causal: TfTensor;
}

/**
 * The per-head mask tensors for source lengths (B) and a target of Tt steps.
 * @returns tensors owned by the caller.
 */
export function tfTransformerLens(tf: TF, validLens: Int32Array, tt: number, h: number): TfTransformerLens {
  const b = validLens.length;
  const enc = Int32Array.from({ length: b * h }, (_, i) => validLens[Math.floor(i / h)]);
  const causal = Int32Array.from({ length: b * h * tt }, (_, i) => (i % tt) + 1);
  return { enc: tf.tensor1d(enc, 'int32'), causal: tf.tensor2d(causal, [b * h, tt], 'int32') };
}

/**
 * Teacher-forced logits of the Transformer in training (causal decoder self-attention).
 * @param X (B, T) int32 source ids; @param decX (B, Tt) int32 decoder inputs; @param P (maxLen, d) positional
 *   encoding (src/nn/positional_encoding.ts `positionalEncodingMatrix`). @returns logits (B, Tt, V).
 */
export function tfTransformerLogits(
  tf: TF,
  p: TfParams,
  P: TfTensor,
  X: TfTensor,
  decX: TfTensor,
  lens: TfTransformerLens,
  { numHeads: h, numBlks }: TfTransformerShape,
): TfTensor {
  let enc = tfEmbed(tf, param(p, 'encoder.embedding.weight'), P, X);
  for (let i = 0; i < numBlks; i++) {
    const at = `encoder.blks.block${i}`;
    const y = addNorm(tf, p, `${at}.addnorm1`, enc, mha(tf, p, `${at}.attention`, enc, enc, lens.enc, h));
    enc = addNorm(tf, p, `${at}.addnorm2`, y, ffn(tf, p, `${at}.ffn`, y));
  }
  let x = tfEmbed(tf, param(p, 'decoder.embedding.weight'), P, decX);
  for (let i = 0; i < numBlks; i++) {
    const at = `decoder.blks.block${i}`;
    const y = addNorm(tf, p, `${at}.addnorm1`, x, mha(tf, p, `${at}.attention1`, x, x, lens.causal, h));
    const z = addNorm(tf, p, `${at}.addnorm2`, y, mha(tf, p, `${at}.attention2`, y, enc, lens.enc, h));
    x = addNorm(tf, p, `${at}.addnorm3`, z, ffn(tf, p, `${at}.ffn`, z));
  }
  return tfLinear(tf, x, param(p, 'decoder.dense.weight'), param(p, 'decoder.dense.bias'));
}
