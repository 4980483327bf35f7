/**
 * Scaled dot-product attention's shape rule and float64 references (forward, and the FlashAttention-2 backward's
 * dq, dk, dv), shared by the fused kernels (sdpa_fused.ts) and the tests. d2l §11.3 semantics: masked scores are
 * replaced by −1e6, so a row without valid keys is uniform; dropout hashes the flat (B, L, S) index as `dropout`.
 */
import { OpError, type CpuTensor, type TensorMeta } from '../runtime/op.js';
import { dropoutUniform } from './dropout.js';
import { lensRows, validLength } from './valid_lens.js';

export interface SdpaAttrs {
  /** Mask key j > query i (on top of the valid lengths). */
  causal: boolean;
  /** Multiplies q·k (1/√D in d2l). */
  scale: number;
  /** Dropout probability on the attention weights, in [0, 1). */
  p: number;
  /** u32 dropout seed; weight (b, i, j) hashes the flat index (b·L + i)·S + j, as `dropout` does on (B, L, S). */
  seed: number;
}

/** The value d2l's `_sequence_mask(X, valid_len, value=-1e6)` writes over masked scores. */
export const MASKED = -1e6;
export interface Dims {
  batch: number;
  l: number;
  s: number;
  d: number;
  dv: number;
  /** Query rows sharing one valid length: L for (B) lens, 1 for (B, L), 0 without (valid_lens.ts). */
  lensRows: number;
}

/** Checks q (B, L, D), k (B, S, D), v (B, S, Dv), lens (B) / (B, L) int32 and p; throws naming every shape. */
export function dims(
  op: string,
  q: TensorMeta,
  k: TensorMeta,
  v: TensorMeta,
  lens?: TensorMeta,
  p = 0,
): Dims {
  const shapes = [q.shape, k.shape, v.shape, ...(lens ? [lens.shape] : [])];
  const fail = (why: string) => new OpError(op, why, shapes);
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3)
    throw fail('expects q (B, L, D), k (B, S, D), v (B, S, Dv)');
  const [batch, l, d] = q.shape;
  const [, s, dv] = v.shape;
  if (k.shape[0] !== batch || v.shape[0] !== batch) throw fail('q, k and v must have one batch size B');
  if (k.shape[2] !== d) throw fail('q and k must have one head dim D');
  if (k.shape[1] !== s) throw fail('k and v must have one key length S');
  if (s < 1) throw fail('needs at least one key (S >= 1)');
  if ([q, k, v].some((t) => t.dtype !== 'float32')) throw fail('q, k and v must be float32');
  if (!(p >= 0 && p < 1)) throw fail(`dropout must be in [0, 1), got ${p}`);
  return { batch, l, s, d, dv, lensRows: lensRows(op, [batch, l], lens, shapes) };
}

/** Row (b, i) of the weights: d2l's masked scores (replaced by −1e6), softmax shifted by the row maximum. */
function weightsRow(
  dm: Dims,
  a: SdpaAttrs,
  q: CpuTensor,
  k: CpuTensor,
  lens: CpuTensor | undefined,
  b: number,
  i: number,
) {
  const len = validLength(dm.lensRows, lens, b * dm.l + i, dm.s);
  const valid = Array.from({ length: dm.s }, (_, j) => j < len && (!a.causal || j <= i));
  const s = valid.map((ok, j) => {
    if (!ok) return MASKED;
    let dot = 0;
    for (let e = 0; e < dm.d; e++)
      dot += q.data[(b * dm.l + i) * dm.d + e] * k.data[(b * dm.s + j) * dm.d + e];
    return a.scale * dot;
  });
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const total = e.reduce((x, y) => x + y, 0);
  return { s, p: e.map((x) => x / total), valid, lse: m + Math.log(total) };
}

/** keep/(1 − p) for weight (b, i, j), from the same hash of the flat (B, L, S) index as `dropout`. */
function dropFactor(dm: Dims, a: SdpaAttrs, b: number, i: number, j: number): number {
  if (a.p === 0) return 1;
  return dropoutUniform(a.seed, (b * dm.l + i) * dm.s + j) >= a.p ? 1 / (1 - a.p) : 0;
}

/** Calls fn(b, i, weights row) for every query row. */
export function eachRow(
  dm: Dims,
  a: SdpaAttrs,
  [q, k, lens]: (CpuTensor | undefined)[],
  fn: (b: number, i: number, w: ReturnType<typeof weightsRow>) => void,
): void {
  for (let b = 0; b < dm.batch; b++)
    for (let i = 0; i < dm.l; i++) fn(b, i, weightsRow(dm, a, q!, k!, lens, b, i));
}

/** o = dropout(P) v and lse per row. */
export function forwardCpu([q, k, v, lens]: CpuTensor[], a: SdpaAttrs, dm: Dims): Float64Array[] {
  const o = new Float64Array(dm.batch * dm.l * dm.dv);
  const lse = new Float64Array(dm.batch * dm.l);
  eachRow(dm, a, [q, k, lens], (b, i, w) => {
    const row = b * dm.l + i;
    lse[row] = w.lse;
    for (let j = 0; j < dm.s; j++) {
      const pd = w.p[j] * dropFactor(dm, a, b, i, j);
      for (let e = 0; e < dm.dv; e++) o[row * dm.dv + e] += pd * v.data[(b * dm.s + j) * dm.dv + e];
    }
  });
  return [o, lse];
}

/**
 * dq, dk, dv by the chain o = P̃ v, P̃ = drop(P), P = softmax(s̃), s̃ = scale·q·k (masked: constant):
 * dP = drop(dy·vⱼ), dS = P ⊙ (dP − Σⱼ P dP) at valid keys, 0 at masked ones. P from the plain softmax.
 */
export function backwardCpu([q, k, v, dy, , lens]: CpuTensor[], a: SdpaAttrs, dm: Dims): Float64Array[] {
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  eachRow(dm, a, [q, k, lens], (b, i, w) => {
    const row = b * dm.l + i;
    const dp = Array.from({ length: dm.s }, (_, j) => {
      let dot = 0;
      for (let e = 0; e < dm.dv; e++) dot += dy.data[row * dm.dv + e] * v.data[(b * dm.s + j) * dm.dv + e];
      return dot * dropFactor(dm, a, b, i, j);
    });
    const delta = w.p.reduce((acc, pj, j) => acc + pj * dp[j], 0);
    for (let j = 0; j < dm.s; j++) {
      const key = b * dm.s + j;
      const pd = w.p[j] * dropFactor(dm, a, b, i, j);
      for (let e = 0; e < dm.dv; e++) dv[key * dm.dv + e] += pd * dy.data[row * dm.dv + e];
      if (!w.valid[j]) continue;
      const ds = a.scale * w.p[j] * (dp[j] - delta);
      for (let e = 0; e < dm.d; e++) {
        dq[row * dm.d + e] += ds * k.data[key * dm.d + e];
        dk[key * dm.d + e] += ds * q.data[row * dm.d + e];
      }
    }
  });
  return [dq, dk, dv];
}
