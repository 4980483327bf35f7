/**
 * Masked softmax over the last axis, d2l §11.3 "Attention Scoring Functions" (`masked_softmax`): scores at
 * key positions at or past a row's valid length are REPLACED by −1e6 before the softmax, so they get
 * (almost) no weight and no gradient. Forward and backward are one kernel each: one workgroup per row with tree
 * reductions (shaders/masked_softmax.wgsl, masked_softmax_backward.wgsl) in the hardware kernel set, and one
 * thread per row without barriers (masked_softmax_rows*.wgsl) in the software set (CPU-emulated adapters), where
 * a barrier costs more than the row's math.
 */
import {
  OpError,
  apply,
  backwardOnlyOp,
  type CpuTensor,
  type OpDef,
  type TensorMeta,
} from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';
import { lensRows, validLength, withValidLens, type ValidLens } from './valid_lens.js';

/** No attributes: the mask mode follows from the shape of `lens`. */
export type MaskedSoftmaxAttrs = Record<string, never>;

/** The value d2l's `_sequence_mask(X, valid_len, value=-1e6)` writes over masked scores. */
const MASKED = -1e6;

/** Row geometry of kernels and references: the plan of both ops. */
interface Layout {
  rows: number;
  s: number;
  /** Consecutive rows sharing one valid length, 0 without lengths (valid_lens.ts). */
  lensRows: number;
}

function layout(op: string, x: TensorMeta, lens: TensorMeta | undefined): Layout {
  const shapes = lens ? [x.shape, lens.shape] : [x.shape];
  if (x.shape.length === 0)
    throw new OpError(op, 'x needs rank >= 1 (softmax runs over the last axis)', shapes);
  const s = x.shape[x.shape.length - 1];
  const rows = numel(x.shape) / Math.max(s, 1);
  const what = ', the leading dims of x (B, L, S)';
  return { rows, s, lensRows: lensRows(op, x.shape.slice(0, -1), lens, shapes, what) };
}

/** Valid length of each row (S when unmasked), as the CPU references need them. */
function rowLengths(l: Layout, lens: CpuTensor | undefined): number[] {
  return Array.from({ length: l.rows }, (_, r) => validLength(l.lensRows, lens, r, l.s));
}

/** One thread or one workgroup per row; unmasked, `lens` is unbound (the engine binds a dummy, never read). */
function dispatchRows(
  op: 'masked_softmax' | 'masked_softmax_backward',
  bindings: Record<string, Tensor>,
  lens: Tensor | undefined,
  l: Layout,
) {
  const engine = Object.values(bindings)[0].engine;
  // Software adapters: one row per thread without barriers; GPUs: one workgroup per row with tree reductions.
  const rows = engine.pick({ software: true, hardware: false });
  engine.dispatch(rows ? op.replace('masked_softmax', 'masked_softmax_rows') : op, {
    bindings: { ...bindings, lens: lens ?? null },
    params: { rows: l.rows, s: l.s, lens_rows: l.lensRows },
    ...(rows ? { threads: l.rows } : { groups: l.rows }),
  });
}

export const maskedSoftmaxOp: OpDef<MaskedSoftmaxAttrs, Layout> = {
  name: 'masked_softmax',
  shape: ([x, lens]) => ({ outputs: [{ shape: x.shape }], plan: layout('masked_softmax', x, lens) }),
  gpu(_engine, [x, lens], [y], _attrs, l) {
    dispatchRows('masked_softmax', { x, y }, lens, l);
  },
  cpu([x, lens], _attrs, l) {
    const len = rowLengths(l, lens);
    const y = new Float64Array(x.data.length);
    for (let r = 0; r < l.rows; r++) {
      const scores = Array.from({ length: l.s }, (_, k) => (k < len[r] ? x.data[r * l.s + k] : MASKED));
      const m = scores.reduce((a, b) => Math.max(a, b), -Infinity);
      const e = scores.map((v) => Math.exp(v - m));
      const total = e.reduce((a, b) => a + b, 0);
      e.forEach((v, k) => (y[r * l.s + k] = v / total));
    }
    return [y];
  },
  backward({ inputs: [, lens], outputs: [y], dy }) {
    const dx = apply(maskedSoftmaxBackward, lens ? [y, dy, lens] : [y, dy], {})[0];
    // validLens are integers: no gradient.
    return lens ? [dx, null] : [dx];
  },
  cases: [
    { inputs: [{ shape: [1, 1, 1] }], attrs: {} },
    { inputs: [{ shape: [2, 3, 7] }], attrs: {} },
    {
      name: 'per-batch lens, one of them 0',
      inputs: [{ shape: [2, 4, 5] }, { shape: [2], dtype: 'int32', fill: { values: [3, 0] } }],
      attrs: {},
    },
    {
      name: 'per-row lens 0, 1, S and > S',
      inputs: [
        { shape: [2, 3, 129] },
        { shape: [2, 3], dtype: 'int32', fill: { values: [0, 1, 129, 200, 64, 5] } },
      ],
      attrs: {},
    },
    { inputs: [{ shape: [1, 1, 300] }], attrs: {} },
    {
      name: 'rank 2, S = 1',
      inputs: [{ shape: [5, 1] }, { shape: [5], dtype: 'int32', fill: { values: [0, 1, 2, 1, 0] } }],
      attrs: {},
    },
  ],
};

export const maskedSoftmaxBackward = backwardOnlyOp<MaskedSoftmaxAttrs, Layout>({
  name: 'masked_softmax_backward',
  shape([y, dy, lens]) {
    if (y.shape.join() !== dy.shape.join())
      throw new OpError('masked_softmax_backward', 'y and dy must have one shape', [y.shape, dy.shape]);
    return { outputs: [{ shape: y.shape }], plan: layout('masked_softmax_backward', y, lens) };
  },
  gpu(_engine, [y, dy, lens], [dx], _attrs, l) {
    dispatchRows('masked_softmax_backward', { y, dy, dx }, lens, l);
  },
  cpu([y, dy, lens], _attrs, l) {
    const len = rowLengths(l, lens);
    const dx = new Float64Array(y.data.length);
    for (let r = 0; r < l.rows; r++) {
      let dot = 0;
      for (let k = 0; k < l.s; k++) dot += dy.data[r * l.s + k] * y.data[r * l.s + k];
      for (let k = 0; k < len[r] && k < l.s; k++) {
        const i = r * l.s + k;
        dx[i] = y.data[i] * (dy.data[i] - dot);
      }
    }
    return [dx];
  },
});

/**
 * Softmax over the last axis with key positions masked by valid length, exactly d2l's `masked_softmax`
 * (§11.3): scores at positions k ≥ validLen are replaced by −1e6 before the softmax, so a row with valid
 * length 0 is uniform 1/S (as in d2l) and lengths > S leave the row fully valid.
 * @param x (B, L, S) float32 attention scores; any rank ≥ 1 works, the softmax runs over the last axis S.
 * @param validLens absent or null: a plain softmax. (B) int32: one length per batch item, applied to every
 *   query row of it (d2l's `repeat_interleave(valid_lens, shape[1])`; for other ranks, to every row under
 *   x's first axis). (B, L) int32 (x of rank ≥ 3): one length per query row. A `number[]` / `number[][]` is
 *   uploaded as int32 (freed with the enclosing `tidy`, or at once when no gradient is recorded).
 * @returns y, the shape of x. Backward: dx = y ⊙ (dy − Σ_k dy_k y_k) at valid positions and exactly 0 at
 *   masked ones (their score was replaced by a constant), so a valid-length-0 row gets no gradient;
 *   validLens gets none.
 * @throws OpError naming `masked_softmax` and both shapes when validLens is neither (B) nor (B, L) of x's
 *   leading dims, or when a validLens tensor is not int32; OpError naming the entry when a plain-array length is
 *   not a finite non-negative integer below 2³¹ (1.5, NaN, −1, 3e9) or its rows differ in length.
 */
export function maskedSoftmax(x: Tensor, validLens?: ValidLens): Tensor {
  return withValidLens(
    x.engine,
    'masked_softmax',
    validLens,
    (lens) => apply(maskedSoftmaxOp, lens ? [x, lens] : [x], {})[0],
    (y) => y.creator !== null,
  );
}
