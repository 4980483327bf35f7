/**
 * Scaled dot-product attention, d2l §11.3 `DotProductAttention` (`dropout(masked_softmax(Q Kᵀ·scale)) V`) and
 * `torch.nn.functional.scaled_dot_product_attention`. Two paths with one meaning: the fused FlashAttention-2
 * kernels (shaders/sdpa_forward.wgsl, backward in sdpa_backward_{delta,dq,dkdv}.wgsl), which never hold the
 * (B, L, S) weights, and the unfused composition matmul → maskedSoftmax → dropout → matmul of existing ops.
 */
import type { Engine } from '../runtime/engine.js';
import { OpError, apply, type CpuTensor, type OpCase, type OpDef, type TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { dropout, dropoutUniform, nextSeed } from './dropout.js';
import { concat, slice } from './concat.js';
import { add, fill, mul } from './elementwise.js';
import { grid } from './grid.js';
import { maskedSoftmax } from './masked_softmax.js';
import { matmul } from './matmul.js';

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
const MASKED = -1e6;
/** Head dims the kernels' register arrays hold (MAXD4 = 32 vec4 in the WGSL). */
export const SDPA_MAX_HEAD_DIM = 128;
/** Threads per workgroup at most, and rows (query rows, or key rows for dK/dV) per thread: RM in the WGSL. */
const WG = 64;
const RM = 8;

interface Dims {
  batch: number;
  l: number;
  s: number;
  d: number;
  dv: number;
  /** 0: no valid lengths (lens is an unread dummy), 1: one per batch item (B), 2: one per query row (B, L). */
  mode: 0 | 1 | 2;
}

/** Checks q (B, L, D), k (B, S, D), v (B, S, Dv), lens (B) / (B, L) int32 and p; throws naming every shape. */
function dims(op: string, q: TensorMeta, k: TensorMeta, v: TensorMeta, lens?: TensorMeta, p = 0): Dims {
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
  if (!lens) return { batch, l, s, d, dv, mode: 0 };
  if (lens.dtype !== 'int32')
    throw fail(`validLens must be an int32 tensor, got ${lens.dtype} (upload it with dtype 'int32')`);
  const [lb, ll] = lens.shape;
  if (lb !== batch || lens.shape.length > 2 || (lens.shape.length === 2 && ll !== l))
    throw fail('validLens must be (B) or (B, L)');
  return { batch, l, s, d, dv, mode: lens.shape.length === 1 ? 1 : 2 };
}

const F32 = 'float32' as const;

/** dims() of CPU tensors; the references take lens last, as the ops do. */
function cpuDims(q: CpuTensor, k: CpuTensor, v: CpuTensor, lens?: CpuTensor): Dims {
  const m = (t: CpuTensor) => ({ shape: t.shape, dtype: F32 });
  return dims('sdpa', m(q), m(k), m(v), lens && { shape: lens.shape, dtype: 'int32' });
}

// ---------------------------------------------------------------- float64 references

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
  const len = dm.mode === 0 ? dm.s : dm.mode === 1 ? lens!.data[b] : lens!.data[b * dm.l + i];
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
function eachRow(
  dm: Dims,
  a: SdpaAttrs,
  [q, k, lens]: (CpuTensor | undefined)[],
  fn: (b: number, i: number, w: ReturnType<typeof weightsRow>) => void,
): void {
  for (let b = 0; b < dm.batch; b++)
    for (let i = 0; i < dm.l; i++) fn(b, i, weightsRow(dm, a, q!, k!, lens, b, i));
}

/** o = dropout(P) v and lse per row. */
function forwardCpu([q, k, v, lens]: CpuTensor[], a: SdpaAttrs): Float64Array[] {
  const dm = cpuDims(q, k, v, lens);
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
function backwardCpu([q, k, v, dy, , , lens]: CpuTensor[], a: SdpaAttrs): Float64Array[] {
  const dm = cpuDims(q, k, v, lens);
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

// ---------------------------------------------------------------- fused ops

/** Threads per workgroup: WG, or fewer (8, 16 or 32: few pipelines, whole SIMD groups) when the rows do not fill it. */
function wgSize(rows: number): number {
  let wg = 8;
  while (wg < WG && wg * RM < rows) wg *= 2;
  return wg;
}

/** Binds lens, or when unmasked a 1-element dummy (never read): WebGPU needs every binding bound. */
function lensBinding(engine: Engine, lens: Tensor | undefined): [Tensor, () => void] {
  if (lens) return [lens, () => {}];
  const dummy = engine.empty([1], 'int32');
  return [dummy, () => dummy.dispose()];
}

/**
 * One dispatch of a row-tiled attention kernel: ceil(rows / (wg·RM)) tiles of one batch item, B folded into y·z,
 * so that every workgroup reads the k / v (or q / dy) rows of a single item.
 */
function dispatchTiles(
  kernel: string,
  bindings: Record<string, Tensor>,
  lens: Tensor | undefined,
  dm: Dims,
  a: SdpaAttrs,
  rows: number,
) {
  const engine = bindings.q.engine;
  const [lensT, release] = lensBinding(engine, lens);
  const wg = wgSize(rows);
  const [y, z] = grid(dm.batch, 1);
  engine.dispatch(kernel, {
    bindings: { ...bindings, lens: lensT },
    params: {
      batch: dm.batch,
      l: dm.l,
      s: dm.s,
      d4: dm.d / 4,
      dv4: dm.dv / 4,
      mode: dm.mode,
      scale: a.scale,
      p: a.p,
      drop_scale: 1 / (1 - a.p),
      seed: a.seed >>> 0,
    },
    constants: { WG: wg, CAUSAL: Number(a.causal), DROPOUT: Number(a.p > 0) },
    workgroups: [Math.ceil(rows / (wg * RM)), y, z],
  });
  release();
}

/** dims() plus the fused kernels' own limits: head dims that are multiples of 4 (vec4 rows), at most 128. */
function fusedDims(op: string, [q, k, v, lens]: readonly TensorMeta[], a: SdpaAttrs): Dims {
  const dm = dims(op, q, k, v, lens, a.p);
  const shapes = [q.shape, k.shape, v.shape];
  if (dm.d > SDPA_MAX_HEAD_DIM || dm.dv > SDPA_MAX_HEAD_DIM)
    throw new OpError(op, `head dims above ${SDPA_MAX_HEAD_DIM} need the unfused path`, shapes);
  if (dm.d % 4 !== 0 || dm.dv % 4 !== 0)
    throw new OpError(
      op,
      'the kernels read rows as vec4: D and Dv must be multiples of 4 (pad them)',
      shapes,
    );
  return dm;
}

/** delta = rowsum(dy ∘ o), (B, L): FlashAttention-2's Dᵢ. */
export const sdpaBackwardDelta: OpDef<Record<string, never>> = {
  name: 'sdpa_backward_delta',
  shape([o, dy]) {
    if (o.shape.length !== 3 || o.shape.join() !== dy.shape.join())
      throw new OpError('sdpa_backward_delta', 'o and dy must be one (B, L, Dv) shape', [o.shape, dy.shape]);
    return [{ shape: o.shape.slice(0, 2) }];
  },
  gpu(engine, [o, dy], [delta]) {
    engine.dispatch('sdpa_backward_delta', {
      bindings: { o, dy, delta },
      params: { n: delta.size, dv: o.shape[2] },
      workgroups: grid(delta.size),
    });
  },
  cpu([o, dy]) {
    const dv = o.shape[2];
    return [
      Float64Array.from({ length: o.data.length / dv }, (_, r) => {
        let acc = 0;
        for (let e = r * dv; e < (r + 1) * dv; e++) acc += dy.data[e] * o.data[e];
        return acc;
      }),
    ];
  },
  // Second derivatives are not needed by any model here.
  backward: null,
  cases: [],
};

/** dq (B, L, D) from [q, k, v, dy, lse, delta, lens?]. */
export const sdpaBackwardDq: OpDef<SdpaAttrs> = {
  name: 'sdpa_backward_dq',
  shape: ([q, k, v, , , , lens], a) => {
    fusedDims('sdpa_backward_dq', [q, k, v, lens], a);
    return [{ shape: q.shape }];
  },
  gpu(_engine, [q, k, v, dy, lse, delta, lens], [dq], a) {
    const dm = dims('sdpa_backward_dq', q, k, v, lens);
    dispatchTiles('sdpa_backward_dq', { q, k, v, dy, lse, delta, dq }, lens, dm, a, dm.l);
  },
  cpu: (inputs, a) => [backwardCpu(inputs, a)[0]],
  // Second derivatives are not needed by any model here.
  backward: null,
  cases: [],
};

/** [dk (B, S, D), dv (B, S, Dv)] from [q, k, v, dy, lse, delta, lens?]. */
export const sdpaBackwardDkdv: OpDef<SdpaAttrs> = {
  name: 'sdpa_backward_dkdv',
  shape: ([q, k, v, , , , lens], a) => {
    fusedDims('sdpa_backward_dkdv', [q, k, v, lens], a);
    return [{ shape: k.shape }, { shape: v.shape }];
  },
  gpu(_engine, [q, k, v, dy, lse, delta, lens], [dk, dv], a) {
    const dm = dims('sdpa_backward_dkdv', q, k, v, lens);
    dispatchTiles('sdpa_backward_dkdv', { q, k, v, dy, lse, delta, dk, dv }, lens, dm, a, dm.s);
  },
  cpu: (inputs, a) => backwardCpu(inputs, a).slice(1),
  // Second derivatives are not needed by any model here.
  backward: null,
  cases: [],
};

const sdpaAttrs = (d: number): SdpaAttrs => ({ causal: false, scale: 1 / Math.sqrt(d), p: 0, seed: 0 });

const sdpaCase = (
  name: string,
  [b, l, s, d, dv]: number[],
  attrs: Partial<SdpaAttrs> = {},
  lens?: { shape: number[]; values: number[] },
  noGradCheck = false,
): OpCase<SdpaAttrs> => ({
  name,
  inputs: [
    { shape: [b, l, d] },
    { shape: [b, s, d] },
    { shape: [b, s, dv] },
    ...(lens ? [{ shape: lens.shape, dtype: 'int32' as const, fill: { values: lens.values } }] : []),
  ],
  attrs: { ...sdpaAttrs(d), ...attrs },
  noGradCheck,
});

/** [o (B, L, Dv), lse (B, L)] from [q, k, v, lens?]; lse is saved for the backward kernels. */
export const sdpaForward: OpDef<SdpaAttrs> = {
  name: 'sdpa_forward',
  shape(inputs, a) {
    const dm = fusedDims('sdpa_forward', inputs, a);
    return [{ shape: [dm.batch, dm.l, dm.dv] }, { shape: [dm.batch, dm.l] }];
  },
  gpu(_engine, [q, k, v, lens], [o, lse], a) {
    const dm = dims('sdpa_forward', q, k, v, lens);
    dispatchTiles('sdpa_forward', { q, k, v, o, lse }, lens, dm, a, dm.l);
  },
  cpu: forwardCpu,
  backward({ inputs: [q, k, v, lens], outputs: [o, lse], dy, attrs }) {
    const [delta] = apply(sdpaBackwardDelta, [o, dy], {});
    const rest = lens ? [lens] : [];
    const [dq] = apply(sdpaBackwardDq, [q, k, v, dy, lse, delta, ...rest], attrs);
    const [dk, dv] = apply(sdpaBackwardDkdv, [q, k, v, dy, lse, delta, ...rest], attrs);
    delta.dispose();
    // validLens are integers: no gradient.
    return [dq, dk, dv, ...(lens ? [null] : [])];
  },
  cases: [
    sdpaCase('all ones', [1, 1, 1, 4, 4]),
    sdpaCase('L ≠ S, D ≠ Dv', [2, 3, 5, 8, 4]),
    sdpaCase('per-batch lens, one of them 0', [2, 4, 6, 4, 8], {}, { shape: [2], values: [3, 0] }),
    sdpaCase(
      'per-row lens 0, 1, S, > S, over two key tiles',
      [2, 3, 9, 4, 8],
      {},
      {
        shape: [2, 3],
        values: [0, 1, 9, 12, 4, 2],
      },
    ),
    sdpaCase('causal, L > S, with lens', [2, 5, 3, 4, 4], { causal: true }, { shape: [2], values: [2, 0] }),
    sdpaCase('causal, L < S', [2, 3, 10, 4, 4], { causal: true }),
    sdpaCase(
      'dropout',
      [2, 4, 10, 4, 8],
      { p: 0.3, seed: 42 },
      {
        shape: [2, 4],
        values: [10, 0, 3, 7, 1, 2, 11, 5],
      },
    ),
    sdpaCase('dropout + causal, scale 1', [1, 9, 9, 4, 4], { p: 0.5, seed: 7, causal: true, scale: 1 }),
    sdpaCase(
      'head dims 100 and 128, several tiles',
      [2, 130, 129, 100, 128],
      {},
      { shape: [2, 130], values: Array.from({ length: 260 }, (_, i) => (i * 37) % 140) },
      true,
    ),
    sdpaCase(
      'L, S past one workgroup',
      [2, 600, 530, 16, 12],
      { causal: true, p: 0.2, seed: 3 },
      undefined,
      true,
    ),
  ],
};

/** Weights before dropout, (B, L, S), from [q, k, lse, lens?] and the forward's lse. */
export const sdpaWeights: OpDef<SdpaAttrs> = {
  name: 'sdpa_weights',
  shape([q, k, lse, lens], a) {
    const dm = dims('sdpa_weights', q, k, k, lens, a.p);
    if (lse.shape.join() !== [dm.batch, dm.l].join())
      throw new OpError('sdpa_weights', 'lse must be (B, L)', [q.shape, k.shape, lse.shape]);
    return [{ shape: [dm.batch, dm.l, dm.s] }];
  },
  gpu(engine, [q, k, lse, lens], [w], a) {
    const dm = dims('sdpa_weights', q, k, k, lens);
    const [lensT, release] = lensBinding(engine, lens);
    engine.dispatch('sdpa_weights', {
      bindings: { q, k, lens: lensT, lse, w },
      params: { n: w.size, l: dm.l, s: dm.s, d: dm.d, mode: dm.mode, scale: a.scale },
      constants: { CAUSAL: Number(a.causal) },
      workgroups: grid(w.size),
    });
    release();
  },
  cpu([q, k, lse, lens], a) {
    const dm = cpuDims(q, k, k, lens);
    const w = new Float64Array(dm.batch * dm.l * dm.s);
    eachRow(dm, a, [q, k, lens], (b, i, row) => {
      const r = b * dm.l + i;
      // A row without valid keys is d2l's uniform one; elsewhere masked weights are exactly 0.
      const full = row.valid.every((ok) => !ok);
      for (let j = 0; j < dm.s; j++)
        w[r * dm.s + j] = full ? 1 / dm.s : row.valid[j] ? Math.exp(row.s[j] - lse.data[r]) : 0;
    });
    return [w];
  },
  // The weights are returned for inspection (d2l's heatmaps); differentiate them on the unfused path.
  backward: null,
  cases: [
    { inputs: [{ shape: [1, 1, 1] }, { shape: [1, 1, 1] }, { shape: [1, 1] }], attrs: sdpaAttrs(1) },
    {
      name: 'per-batch lens with 0, D odd',
      inputs: [
        { shape: [2, 3, 7] },
        { shape: [2, 5, 7] },
        { shape: [2, 3] },
        { shape: [2], dtype: 'int32', fill: { values: [3, 0] } },
      ],
      attrs: sdpaAttrs(7),
    },
    {
      name: 'causal, per-row lens',
      inputs: [
        { shape: [2, 4, 5] },
        { shape: [2, 9, 5] },
        { shape: [2, 4] },
        { shape: [2, 4], dtype: 'int32', fill: { values: [0, 1, 9, 12, 4, 2, 3, 7] } },
      ],
      attrs: { ...sdpaAttrs(5), causal: true },
    },
  ],
};

// ---------------------------------------------------------------- public function

export interface SdpaOptions {
  /**
   * d2l's `valid_lens`: (B) (one per batch item) or (B, L) (one per query row) int32; a number[] / number[][] is
   * uploaded as int32. Keys at positions ≥ the length get the score −1e6 (so a length of 0 averages all S keys).
   */
  validLens?: Tensor | number[] | number[][] | null;
  /** Also mask key j > query i (the same −1e6 replacement), combined with validLens. Default false. */
  causal?: boolean;
  /** Multiplies q·k; default 1/√D, pass 1 for the unscaled dot product. */
  scale?: number;
  /** Dropout probability on the weights, in [0, 1) (training mode; pass 0 to evaluate). Default 0. */
  dropout?: number;
  /** u32 dropout seed; default a fresh one from the default generator (`manualSeed`). */
  seed?: number;
  /** Fused FlashAttention-2 kernels (default) or the unfused composition of existing ops. */
  fused?: boolean;
  /** Also return the (B, L, S) weights before dropout. */
  returnWeights?: boolean;
}

export interface SdpaResult {
  /** (B, L, Dv) float32. */
  output: Tensor;
  /** (B, L, S) weights before dropout when `returnWeights`, else null. */
  weights: Tensor | null;
}

/**
 * Scaled dot-product attention, `dropout(masked_softmax(q kᵀ · scale, validLens)) v`: d2l §11.3
 * `DotProductAttention` (its `masked_softmax` semantics exactly: masked scores are replaced by −1e6, masked keys
 * get exactly zero gradient) with PyTorch's dropout on the weights, and `is_causal` of
 * `torch.nn.functional.scaled_dot_product_attention`.
 *
 * Fused (default): three FlashAttention-2 kernels, forward with online softmax and a backward that recomputes the
 * weights from the saved logsumexp, so no (B, L, S) buffer exists unless `returnWeights` asks for it (then a small
 * kernel writes it from the logsumexp; those weights carry no gradient). Head dims that are not multiples of 4 are
 * zero-padded on the way in; head dims above 128 take the unfused path. Unfused (`fused: false`): matmul → mul →
 * maskedSoftmax → dropout → matmul; its weights are differentiable. For one seed both paths drop the same weights
 * (element (b, i, j) hashes the flat index (b·L + i)·S + j) and agree to float32 rounding.
 * @param q (B, L, D) float32 queries; B is batch × heads.
 * @param k (B, S, D) float32 keys.
 * @param v (B, S, Dv) float32 values.
 * @returns `{ output: (B, L, Dv), weights: (B, L, S) | null }`.
 * @throws OpError naming `scaled_dot_product_attention` and every shape when q, k, v are not 3-D float32 with one B,
 *   one D (q, k) and one S (k, v) ≥ 1, validLens is neither (B) nor (B, L) int32, or dropout is outside [0, 1).
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SdpaOptions = {},
): SdpaResult {
  const { causal = false, dropout: p = 0, fused = true, returnWeights = false } = options;
  const engine = q.engine;
  const lensGiven = options.validLens ?? undefined;
  const lensMeta = Array.isArray(lensGiven)
    ? { shape: lensShape(lensGiven), dtype: 'int32' as const }
    : lensGiven;
  const dm = dims('scaled_dot_product_attention', q, k, v, lensMeta, p);
  const attrs: SdpaAttrs = {
    causal,
    scale: options.scale ?? 1 / Math.sqrt(dm.d),
    p,
    seed: options.seed ?? nextSeed(),
  };
  const lens = Array.isArray(lensGiven)
    ? engine.fromArray((lensGiven as number[]).flat(), lensMeta!.shape, 'int32')
    : lensGiven;
  const rest = lens ? [lens] : [];
  const [d4, dv4] = [dm.d, dm.dv].map((d) => 4 * Math.ceil(d / 4));
  let result: SdpaResult;
  if (fused && d4 <= SDPA_MAX_HEAD_DIM && dv4 <= SDPA_MAX_HEAD_DIM) {
    // The kernels read vec4 rows: other head dims are zero-padded (exact: the zeros add nothing to q·k and the
    // padded output columns are cut off; concat and slice route the gradients back).
    const temps: Tensor[] = [];
    const pad = (x: Tensor, to: number) => {
      if (x.shape[2] === to) return x;
      const zeros = fill([x.shape[0], x.shape[1], to - x.shape[2]], 0, engine);
      temps.push(zeros, concat([x, zeros], 2));
      return temps[temps.length - 1];
    };
    const [op, lse] = apply(sdpaForward, [pad(q, d4), pad(k, d4), pad(v, dv4), ...rest], attrs);
    const weights = returnWeights ? apply(sdpaWeights, [q, k, lse, ...rest], attrs)[0] : null;
    const output = slice(op, 2, 0, dm.dv);
    // Without a tape entry nothing reads lse and the padded copies any more; with one, backward does and the
    // enclosing scope frees them.
    if (!op.creator) [lse, ...temps, ...(output === op ? [] : [op])].forEach((t) => t.dispose());
    result = { output, weights };
  } else {
    result = unfused(q, k, v, lens, attrs, returnWeights);
  }
  // A lens uploaded here is read by backward when a tape was recorded (the scope frees it), else free it now.
  if (lens && lens !== lensGiven && !result.output.creator) lens.dispose();
  return result;
}

function lensShape(validLens: number[] | number[][]): number[] {
  if (validLens.length === 0 || !Array.isArray(validLens[0])) return [validLens.length];
  const rows = validLens as number[][];
  if (rows.some((r) => r.length !== rows[0].length))
    throw new OpError('scaled_dot_product_attention', 'validLens rows have different lengths', []);
  return [rows.length, rows[0].length];
}

/** matmul → (causal mask) → maskedSoftmax → dropout → matmul, d2l's `DotProductAttention.forward`. */
function unfused(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  lens: Tensor | undefined,
  a: SdpaAttrs,
  returnWeights: boolean,
): SdpaResult {
  let scores = mul(matmul(q, k, { transB: true }), a.scale);
  if (a.causal) {
    // Replace (not add to) the scores above the diagonal by −1e6, as maskedSoftmax does past the valid length:
    // s·1 + 0 = s exactly and s·0 − 1e6 = −1e6 exactly, and the mask is a constant, so no gradient leaks.
    const [, l, s] = scores.shape;
    const keep = Array.from({ length: l * s }, (_, x) => (x % s <= Math.floor(x / s) ? 1 : 0));
    const e = q.engine;
    const factor = e.fromArray(keep, [l, s]);
    const masked = e.fromArray(
      keep.map((f) => (1 - f) * MASKED),
      [l, s],
    );
    scores = add(mul(scores, factor), masked);
    if (!scores.creator) [factor, masked].forEach((t) => t.dispose());
  }
  const w = maskedSoftmax(scores, lens);
  return { output: matmul(dropout(w, a.p, a.seed), v), weights: returnWeights ? w : null };
}
