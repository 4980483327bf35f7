/**
 * `torch.argmax(x, dim, keepdim)`: the index of the largest element along one axis, as int32. One kernel,
 * shaders/argmax.wgsl, viewing x as (outer, n, inner) around the axis like reduce.wgsl. Ties take the first index
 * and NaN beats every number, as in PyTorch, so the result does not depend on the kernel's reduction order.
 */
import { OpError, apply, type OpDef, type TensorMeta } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';
import { reshape } from './shape.js';

export interface ArgmaxAttrs {
  /** The axis searched; negative counts from the end. */
  axis: number;
  /** Keep the axis as length 1 (PyTorch's keepdim). */
  keepdim: boolean;
}

/** x as (outer, n, inner) around the axis. @throws OpError for a bad axis, an empty axis or int32. */
function view(x: TensorMeta, axis: number) {
  const rank = Math.max(x.shape.length, 1);
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new OpError('argmax', `axis ${axis} is out of range for rank ${x.shape.length}`, [x.shape]);
  if (x.dtype !== 'float32') throw new OpError('argmax', `needs float32, got ${x.dtype}`, [x.shape]);
  const a = axis < 0 ? axis + rank : axis;
  const n = x.shape[a] ?? 1;
  if (n === 0) throw new OpError('argmax', `axis ${axis} is empty: no maximum to take`, [x.shape]);
  return { a, outer: numel(x.shape.slice(0, a)), n, inner: numel(x.shape.slice(a + 1)) };
}

/** PyTorch's order: NaN above every number (the first NaN wins), then the value, ties to the first index. */
function beats(v: number, best: number): boolean {
  if (Number.isNaN(best)) return false;
  return Number.isNaN(v) || v > best;
}

/** The plan: x as (outer, n, inner) around the axis. */
export const argmaxOp: OpDef<ArgmaxAttrs, ReturnType<typeof view>> = {
  name: 'argmax',
  shape([x], { axis, keepdim }) {
    const plan = view(x, axis);
    const a = plan.a;
    const shape = keepdim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
    return { outputs: [{ shape, dtype: 'int32' }], plan };
  },
  gpu(engine, [x], [y], _attrs, { outer, n, inner }) {
    if (y.numel() === 0) return;
    engine.dispatch('argmax', {
      bindings: { x, y },
      params: { outer, n, inner },
      groups: outer * inner,
    });
  },
  cpu([x], _attrs, { outer, n, inner }) {
    const y = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < inner; j++) {
        let k = 0;
        for (let c = 1; c < n; c++)
          if (beats(x.data[(o * n + c) * inner + j], x.data[(o * n + k) * inner + j])) k = c;
        y[o * inner + j] = k;
      }
    return [y];
  },
  // An int32 index: piecewise constant in x, no gradient (PyTorch's argmax has none either).
  backward: null,
  cases: [
    { inputs: [{ shape: [7] }], attrs: { axis: 0, keepdim: false } },
    { name: 'scalar', inputs: [{ shape: [] }], attrs: { axis: -1, keepdim: false } },
    { inputs: [{ shape: [2, 3, 67] }], attrs: { axis: -1, keepdim: false } },
    { name: 'middle axis', inputs: [{ shape: [4, 13, 3] }], attrs: { axis: 1, keepdim: true } },
    { name: 'first axis', inputs: [{ shape: [5, 2] }], attrs: { axis: -2, keepdim: false } },
    { name: 'row > workgroup', inputs: [{ shape: [3, 1001] }], attrs: { axis: 1, keepdim: false } },
    {
      name: 'ties take the first index',
      inputs: [{ shape: [3, 4], fill: { values: [1, 3, 3, 0, 2, 2, 2, 2, -1, 0, -1, 0] } }],
      attrs: { axis: 1, keepdim: false },
    },
    {
      name: 'ties along a middle axis past a workgroup',
      inputs: [{ shape: [1, 200, 2], fill: { values: Array.from({ length: 400 }, (_, i) => (i % 3) % 2) } }],
      attrs: { axis: 1, keepdim: false },
    },
    { name: 'empty outer', inputs: [{ shape: [0, 5] }], attrs: { axis: 1, keepdim: true } },
  ],
};

/**
 * The index of the maximum, `torch.argmax(x, dim, keepdim)`: along `axis`, or of the flattened tensor when `axis`
 * is omitted (a scalar index into `x.reshape(-1)`). Ties take the first index and NaN counts as the maximum, as in
 * PyTorch.
 * @param x float32, any shape (…, N, …).
 * @param axis the axis N searched; negative counts from the end; omitted: all elements.
 * @param keepdim keep the searched axis as length 1 (with no axis: every axis), default false.
 * @returns int32 indices in [0, N): x's shape without the axis (or with it as 1); `[]` for the flattened search.
 *   Not differentiable (no gradient is recorded).
 * @throws OpError naming `argmax` and x's shape when the axis is out of range or empty, or x is int32.
 */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis !== undefined) return apply(argmaxOp, [x], { axis, keepdim })[0];
  if (x.numel() === 0) throw new OpError('argmax', 'x is empty: no maximum to take', [x.shape]);
  const flat = reshape(x, [x.numel()]);
  const k = apply(argmaxOp, [flat], { axis: 0, keepdim: false })[0];
  // No gradient is recorded, so nothing refers to the view any more.
  if (flat !== x) flat.dispose();
  if (!keepdim) return k;
  const kept = reshape(
    k,
    x.shape.map(() => 1),
  );
  if (kept !== k) k.dispose();
  return kept;
}
