/**
 * Reductions over one axis (sum, mean, max; `torch.sum/mean/amax(x, dim, keepdim)`) with one kernel,
 * shaders/reduce.wgsl, viewing x as (outer, n, inner). Gradients are composed: sum/mean broadcast dy back,
 * max routes dy to every position equal to the maximum (like `torch.amax`, which splits it evenly, only on ties).
 */
import { OpError, apply, type OpDef } from '../runtime/op.js';
import { Tensor, numel } from '../runtime/tensor.js';
import { compare, expand, mul } from './elementwise.js';
import { reshape } from './shape.js';

export type ReduceName = 'sum' | 'mean' | 'max';

export interface ReduceAttrs {
  op: ReduceName;
  axis: number;
  keepdim: boolean;
}

const CODES: Record<ReduceName, number> = { sum: 0, mean: 1, max: 2 };

function normAxis(axis: number, rank: number, shape: readonly number[]): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new OpError('reduce', `axis ${axis} out of range for rank ${rank}`, [shape]);
  return a;
}

/** The plan: the axis resolved, and x as (outer, n, inner) around it. */
function view(shape: readonly number[], axis: number) {
  return {
    axis,
    outer: numel(shape.slice(0, axis)),
    n: shape[axis],
    inner: numel(shape.slice(axis + 1)),
  };
}

function outShape(shape: readonly number[], axis: number, keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

export const reduce: OpDef<ReduceAttrs, ReturnType<typeof view>> = {
  name: 'reduce',
  shape([x], { op, axis, keepdim }) {
    const a = normAxis(axis, x.shape.length, x.shape);
    if (x.shape[a] === 0 && op === 'max') throw new OpError('max', 'cannot reduce an empty axis', [x.shape]);
    return { outputs: [{ shape: outShape(x.shape, a, keepdim) }], plan: view(x.shape, a) };
  },
  gpu(engine, [x], [y], { op }, { outer, n, inner }) {
    engine.dispatch('reduce', {
      bindings: { x, y },
      params: { outer, n, inner },
      constants: { OP: CODES[op] },
      groups: outer * inner,
    });
  },
  cpu([x], { op }, { outer, n, inner }) {
    const y = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < inner; j++) {
        let acc = op === 'max' ? -Infinity : 0;
        for (let k = 0; k < n; k++) {
          const v = x.data[(o * n + k) * inner + j];
          acc = op === 'max' ? Math.max(acc, v) : acc + v;
        }
        y[o * inner + j] = op === 'mean' ? acc / n : acc;
      }
    return [y];
  },
  backward({ inputs: [x], outputs: [y], dy, attrs: { op }, plan: { axis: a } }) {
    const keep = outShape(x.shape, a, true);
    const g = expand(reshape(dy, keep), x.shape);
    if (op === 'sum') return [g];
    if (op === 'mean') return [mul(g, 1 / x.shape[a])];
    return [mul(g, compare('eq', x, reshape(y, keep)))];
  },
  cases: [
    { inputs: [{ shape: [7] }], attrs: { op: 'sum', axis: 0, keepdim: false } },
    { inputs: [{ shape: [3, 129] }], attrs: { op: 'sum', axis: 1, keepdim: true } },
    { inputs: [{ shape: [5, 1, 3] }], attrs: { op: 'mean', axis: 1, keepdim: false } },
    { inputs: [{ shape: [4, 13, 3] }], attrs: { op: 'mean', axis: -2, keepdim: true } },
    { inputs: [{ shape: [2, 3, 67] }], attrs: { op: 'max', axis: 2, keepdim: false } },
    { inputs: [{ shape: [1, 6] }], attrs: { op: 'max', axis: 0, keepdim: false } },
    { inputs: [{ shape: [1000, 1000] }], attrs: { op: 'sum', axis: 0, keepdim: false }, noGradCheck: true },
  ],
};

function reduceAxes(
  op: ReduceName,
  x: Tensor,
  axis: number | number[] | undefined,
  keepdim: boolean,
): Tensor {
  if (axis === undefined) {
    // All elements: one pass over the flattened tensor.
    const flat = reshape(x, [x.numel()]);
    const r = apply(reduce, [flat], { op, axis: 0, keepdim: false })[0];
    return keepdim
      ? reshape(
          r,
          x.shape.map(() => 1),
        )
      : r;
  }
  const axes = (Array.isArray(axis) ? axis : [axis])
    .map((a) => normAxis(a, x.shape.length, x.shape))
    .sort((p, q) => q - p);
  // One axis at a time: a mean of means over equal-sized groups is the mean, a max of maxes the max.
  let r = x;
  for (const a of axes) r = apply(reduce, [r], { op, axis: a, keepdim })[0];
  return r;
}

/** Sum over `axis` (all axes when omitted), like `torch.sum(x, dim, keepdim)`. */
export function sum(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  return reduceAxes('sum', x, axis, keepdim);
}

/** Mean over `axis` (all axes when omitted), like `torch.mean(x, dim, keepdim)`. */
export function mean(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  return reduceAxes('mean', x, axis, keepdim);
}

/** Maximum over `axis` (all axes when omitted), like `torch.amax(x, dim, keepdim)`. */
export function max(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  return reduceAxes('max', x, axis, keepdim);
}

/**
 * Sums a broadcast result back to `shape` (the gradient of broadcasting): leading extra dims are summed away,
 * dims that are 1 in `shape` are summed with keepdim.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return g;
  let r = g;
  while (r.shape.length > shape.length) r = apply(reduce, [r], { op: 'sum', axis: 0, keepdim: false })[0];
  for (let i = 0; i < shape.length; i++)
    if (shape[i] === 1 && r.shape[i] !== 1) r = apply(reduce, [r], { op: 'sum', axis: i, keepdim: true })[0];
  return r;
}
