/**
 * The fused scaled dot-product attention ops (FlashAttention-2, Dao 2023, algorithms 1 and 2): forward with online
 * softmax saving the log-sum-exp, and a backward that recomputes the weights from it, so no (B, L, S) buffer exists.
 * Kernels per kernel set in sdpa_plans.ts; float64 references in sdpa_reference.ts; the public function and the
 * unfused path in attention.ts.
 */
import { OpError, apply, backwardOnlyOp, type OpCase, type OpDef, type TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { sdpaPlans } from './sdpa_plans.js';
import { backwardCpu, dims, eachRow, forwardCpu, type Dims, type SdpaAttrs } from './sdpa_reference.js';

/** Head dims the kernels hold (MAXD4 = 32 vec4 in the software WGSL). */
export const SDPA_MAX_HEAD_DIM = 128;

/**
 * One dispatch of a row-tiled attention kernel, as its kernel set's plan says: ceil(rows / rowsPerGroup) tiles of
 * one batch item, B in y (folded into z past the limit), so that every workgroup reads the k / v (or q / dy) rows
 * of a single item.
 */
function dispatchTiles(
  which: keyof typeof sdpaPlans,
  bindings: Record<string, Tensor>,
  lens: Tensor | undefined,
  dm: Dims,
  a: SdpaAttrs,
) {
  const engine = bindings.q.engine;
  const plan = engine.pick(sdpaPlans[which])(dm, engine);
  const rows = which === 'dkdv' ? dm.s : dm.l;
  engine.dispatch(plan.kernel, {
    bindings: { ...bindings, lens: lens ?? null },
    params: {
      batch: dm.batch,
      l: dm.l,
      s: dm.s,
      d4: dm.d / 4,
      dv4: dm.dv / 4,
      lens_rows: dm.lensRows,
      scale: a.scale,
      p: a.p,
      drop_scale: 1 / (1 - a.p),
      seed: a.seed >>> 0,
    },
    constants: { ...plan.constants, CAUSAL: Number(a.causal), DROPOUT: Number(a.p > 0) },
    groups: [Math.ceil(rows / plan.rowsPerGroup), dm.batch],
  });
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

/**
 * stats (B, L, 2) = (lse, delta) per query row, delta = rowsum(dy ∘ o): FlashAttention-2's Dᵢ beside the forward's
 * log-sum-exp, packed so that the dk/dv kernel binds 8 storage buffers (WebGPU's default limit), not 9.
 */
export const sdpaBackwardDelta = backwardOnlyOp<Record<string, never>, { rows: number; dv: number }>({
  name: 'sdpa_backward_delta',
  shape([o, dy, lse]) {
    const shapes = [o.shape, dy.shape, lse.shape];
    if (o.shape.length !== 3 || o.shape.join() !== dy.shape.join())
      throw new OpError('sdpa_backward_delta', 'o and dy must be one (B, L, Dv) shape', shapes);
    if (lse.shape.join() !== o.shape.slice(0, 2).join())
      throw new OpError('sdpa_backward_delta', 'lse must be (B, L)', shapes);
    const [b, l, dv] = o.shape;
    return { outputs: [{ shape: [b, l, 2] }], plan: { rows: b * l, dv } };
  },
  gpu(engine, [o, dy, lse], [stats], _attrs, { rows, dv }) {
    engine.dispatch('sdpa_backward_delta', {
      bindings: { o, dy, lse, stats },
      params: { n: rows, dv },
      threads: rows,
    });
  },
  cpu([o, dy, lse], _attrs, { rows, dv }) {
    const stats = new Float64Array(2 * rows);
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let e = r * dv; e < (r + 1) * dv; e++) acc += dy.data[e] * o.data[e];
      stats[2 * r] = lse.data[r];
      stats[2 * r + 1] = acc;
    }
    return [stats];
  },
});

/** dq (B, L, D) from [q, k, v, dy, stats, lens?]. */
export const sdpaBackwardDq = backwardOnlyOp<SdpaAttrs, Dims>({
  name: 'sdpa_backward_dq',
  shape: ([q, k, v, , , lens], a) => ({
    outputs: [{ shape: q.shape }],
    plan: fusedDims('sdpa_backward_dq', [q, k, v, lens], a),
  }),
  gpu(_engine, [q, k, v, dy, stats, lens], [dq], a, dm) {
    dispatchTiles('dq', { q, k, v, dy, stats, dq }, lens, dm, a);
  },
  cpu: (inputs, a, dm) => [backwardCpu(inputs, a, dm)[0]],
});

/** [dk (B, S, D), dv (B, S, Dv)] from [q, k, v, dy, stats, lens?]. */
export const sdpaBackwardDkdv = backwardOnlyOp<SdpaAttrs, Dims>({
  name: 'sdpa_backward_dkdv',
  shape: ([q, k, v, , , lens], a) => ({
    outputs: [{ shape: k.shape }, { shape: v.shape }],
    plan: fusedDims('sdpa_backward_dkdv', [q, k, v, lens], a),
  }),
  gpu(_engine, [q, k, v, dy, stats, lens], [dk, dv], a, dm) {
    dispatchTiles('dkdv', { q, k, v, dy, stats, dk, dv }, lens, dm, a);
  },
  cpu: (inputs, a, dm) => backwardCpu(inputs, a, dm).slice(1),
});

export const sdpaAttrs = (d: number): SdpaAttrs => ({
  causal: false,
  scale: 1 / Math.sqrt(d),
  p: 0,
  seed: 0,
});

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
export const sdpaForward: OpDef<SdpaAttrs, Dims> = {
  name: 'sdpa_forward',
  shape(inputs, a) {
    const dm = fusedDims('sdpa_forward', inputs, a);
    return { outputs: [{ shape: [dm.batch, dm.l, dm.dv] }, { shape: [dm.batch, dm.l] }], plan: dm };
  },
  gpu(_engine, [q, k, v, lens], [o, lse], a, dm) {
    dispatchTiles('forward', { q, k, v, o, lse }, lens, dm, a);
  },
  cpu: forwardCpu,
  backward({ inputs: [q, k, v, lens], outputs: [o, lse], dy, attrs }) {
    const [stats] = apply(sdpaBackwardDelta, [o, dy, lse], {});
    const rest = lens ? [lens] : [];
    const [dq] = apply(sdpaBackwardDq, [q, k, v, dy, stats, ...rest], attrs);
    const [dk, dv] = apply(sdpaBackwardDkdv, [q, k, v, dy, stats, ...rest], attrs);
    stats.dispose();
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
export const sdpaWeights: OpDef<SdpaAttrs, Dims> = {
  name: 'sdpa_weights',
  shape([q, k, lse, lens], a) {
    const dm = dims('sdpa_weights', q, k, k, lens, a.p);
    if (lse.shape.join() !== [dm.batch, dm.l].join())
      throw new OpError('sdpa_weights', 'lse must be (B, L)', [q.shape, k.shape, lse.shape]);
    return { outputs: [{ shape: [dm.batch, dm.l, dm.s] }], plan: dm };
  },
  gpu(engine, [q, k, lse, lens], [w], a, dm) {
    engine.dispatch('sdpa_weights', {
      bindings: { q, k, lens: lens ?? null, lse, w },
      params: { n: w.numel(), l: dm.l, s: dm.s, d: dm.d, lens_rows: dm.lensRows, scale: a.scale },
      constants: { CAUSAL: Number(a.causal) },
      threads: w.numel(),
    });
  },
  cpu([q, k, lse, lens], a, dm) {
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
