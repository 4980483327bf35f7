/**
 * Copies along one axis: `concat` (`torch.cat`), `slice` (`x.narrow(axis, start, length)` made contiguous), and the
 * compositions `stack` (`torch.stack`) and `unbind` (`torch.unbind`) that the recurrent layers use to split the
 * time-major input projections into steps and to gather the step outputs. A strided slice cannot be a view here
 * (storage has no offsets), so both are copy kernels: shaders/concat.wgsl and shaders/slice.wgsl. Each one's
 * gradient is the other: concat's backward slices dy; slice's backward places dy into zeros with one kernel
 * (shaders/slice_backward.wgsl) rather than two fills and a concat, since recurrent layers slice at every step.
 */
import {
  OpError,
  apply,
  backwardOnlyOp,
  type OpCase,
  type OpDef,
  type Shaped,
  type TensorMeta,
} from '../runtime/op.js';
import type { Engine } from '../runtime/engine.js';
import { numel, type Tensor } from '../runtime/tensor.js';
import { reshape } from './shape.js';

export interface ConcatAttrs {
  axis: number;
}

export interface SliceAttrs {
  axis: number;
  /** First index taken along `axis`. */
  start: number;
  /** One past the last index taken. */
  end: number;
}

function normAxis(op: string, axis: number, shapes: readonly (readonly number[])[]): number {
  const rank = shapes[0].length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new OpError(op, `axis ${axis} out of range for rank ${rank}`, shapes);
  return a;
}

function expectFloat(op: string, inputs: readonly TensorMeta[]): void {
  if (inputs.some((t) => t.dtype !== 'float32'))
    throw new OpError(
      op,
      'copies float32 tensors only',
      inputs.map((t) => t.shape),
    );
}

/** x viewed as (outer, n, inner) around `axis`: the row lengths the kernels index with. */
function rows(shape: readonly number[], axis: number) {
  return { outer: numel(shape.slice(0, axis)), inner: numel(shape.slice(axis + 1)) };
}

/**
 * Params of the three copy kernels (concat.wgsl, slice.wgsl, slice_backward.wgsl): rows of their `x` and `y`
 * bindings along axis `a` (the same `inner` for both) and the offset `start` of the narrower one in the wider.
 */
function copyParams(count: number, x: readonly number[], y: readonly number[], a: number, start: number) {
  const { inner } = rows(x, a);
  return { count, xrow: x[a] * inner, yrow: y[a] * inner, offset: start * inner };
}

/** The plan of the three copies: the axis resolved and the output shape. */
interface AxisPlan {
  a: number;
  out: number[];
}

function planned(a: number, out: number[]): Shaped<AxisPlan> {
  return { outputs: [{ shape: out }], plan: { a, out } };
}

function concatShape(inputs: readonly TensorMeta[], { axis }: ConcatAttrs): Shaped<AxisPlan> {
  const shapes = inputs.map((t) => t.shape);
  if (inputs.length === 0) throw new OpError('concat', 'needs at least one tensor', []);
  expectFloat('concat', inputs);
  const a = normAxis('concat', axis, shapes);
  const first = shapes[0];
  for (const s of shapes)
    if (s.length !== first.length || s.some((d, i) => i !== a && d !== first[i]))
      throw new OpError('concat', `shapes must match except along axis ${axis}`, shapes);
  return planned(
    a,
    first.map((d, i) => (i === a ? shapes.reduce((acc, s) => acc + s[a], 0) : d)),
  );
}

function sliceShape(x: TensorMeta, { axis, start, end }: SliceAttrs): Shaped<AxisPlan> {
  expectFloat('slice', [x]);
  const a = normAxis('slice', axis, [x.shape]);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > x.shape[a])
    throw new OpError('slice', `range [${start}, ${end}) out of bounds along axis ${axis}`, [x.shape]);
  return planned(
    a,
    x.shape.map((d, i) => (i === a ? end - start : d)),
  );
}

/** Launches concat.wgsl: x into y at index `start` along axis `a`. */
function place(engine: Engine, x: Tensor, y: Tensor, a: number, start: number): void {
  if (x.numel() === 0) return;
  engine.dispatch('concat', {
    bindings: { x, y },
    params: copyParams(x.numel(), x.shape, y.shape, a, start),
    threads: x.numel(),
  });
}

const concatCases: OpCase<ConcatAttrs>[] = [
  { inputs: [{ shape: [1] }, { shape: [1] }], attrs: { axis: 0 } },
  { inputs: [{ shape: [2, 3] }, { shape: [2, 5] }, { shape: [2, 1] }], attrs: { axis: 1 } },
  { inputs: [{ shape: [3, 2, 4] }, { shape: [1, 2, 4] }], attrs: { axis: 0 } },
  { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4] }], attrs: { axis: -2 } },
  { inputs: [{ shape: [2, 0] }, { shape: [2, 3] }], attrs: { axis: 1 }, name: 'empty input' },
  { inputs: [{ shape: [5, 1, 13] }], attrs: { axis: 2 } },
  // Past 65535 · 64 elements: the dispatch folds into a 2-D grid.
  { inputs: [{ shape: [4_200_000] }, { shape: [3] }], attrs: { axis: 0 }, noGradCheck: true },
];

export const concatOp: OpDef<ConcatAttrs, AxisPlan> = {
  name: 'concat',
  shape: concatShape,
  gpu(engine, xs, [y], _attrs, { a }) {
    let start = 0;
    for (const x of xs) {
      place(engine, x, y, a, start);
      start += x.shape[a];
    }
  },
  cpu(xs, _attrs, { a, out }) {
    const { outer, inner } = rows(out, a);
    const y = new Float64Array(numel(out));
    let start = 0;
    for (const x of xs) {
      const n = x.shape[a];
      for (let o = 0; o < outer; o++)
        for (let k = 0; k < n; k++)
          for (let j = 0; j < inner; j++)
            y[(o * out[a] + start + k) * inner + j] = x.data[(o * n + k) * inner + j];
      start += n;
    }
    return [y];
  },
  backward({ inputs, dy, plan: { a } }) {
    let start = 0;
    return inputs.map((x) => {
      const end = start + x.shape[a];
      const g = apply(sliceOp, [dy], { axis: a, start, end })[0];
      start = end;
      return g;
    });
  },
  cases: concatCases,
};

export const sliceOp: OpDef<SliceAttrs, AxisPlan> = {
  name: 'slice',
  shape: ([x], attrs) => sliceShape(x, attrs),
  gpu(engine, [x], [y], { start }, { a }) {
    engine.dispatch('slice', {
      bindings: { x, y },
      params: copyParams(y.numel(), x.shape, y.shape, a, start),
      threads: y.numel(),
    });
  },
  cpu([x], attrs, { a, out }) {
    const { outer, inner } = rows(x.shape, a);
    const [n, m] = [x.shape[a], out[a]];
    const y = new Float64Array(numel(out));
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < m; k++)
        for (let j = 0; j < inner; j++)
          y[(o * m + k) * inner + j] = x.data[(o * n + attrs.start + k) * inner + j];
    return [y];
  },
  backward({ inputs: [x], dy, attrs, plan: { a } }) {
    return [apply(sliceBackward, [dy], { ...attrs, n: x.shape[a] })[0]];
  },
  cases: [
    { inputs: [{ shape: [7] }], attrs: { axis: 0, start: 2, end: 5 } },
    { inputs: [{ shape: [3, 129] }], attrs: { axis: 1, start: 0, end: 1 } },
    { inputs: [{ shape: [4, 5, 6] }], attrs: { axis: 1, start: 1, end: 5 } },
    { inputs: [{ shape: [5, 2, 3] }], attrs: { axis: 0, start: 4, end: 5 } },
    { inputs: [{ shape: [2, 3, 13] }], attrs: { axis: -1, start: 12, end: 13 } },
    { inputs: [{ shape: [2, 3] }], attrs: { axis: 1, start: 2, end: 2 }, name: 'empty range' },
    { inputs: [{ shape: [2, 2_100_000] }], attrs: { axis: 1, start: 5, end: 2_100_000 }, noGradCheck: true },
  ],
};

export interface SliceBackwardAttrs extends SliceAttrs {
  /** x's size along `axis` (dy's is end − start). */
  n: number;
}

// Covered through slice's gradient check.
export const sliceBackward = backwardOnlyOp<SliceBackwardAttrs, AxisPlan>({
  name: 'slice_backward',
  shape([dy], { axis, start, end, n }) {
    const a = normAxis('slice_backward', axis, [dy.shape]);
    if (dy.shape[a] !== end - start || end > n)
      throw new OpError('slice_backward', `dy does not fit [${start}, ${end}) of ${n} along axis ${axis}`, [
        dy.shape,
      ]);
    return planned(
      a,
      dy.shape.map((d, i) => (i === a ? n : d)),
    );
  },
  gpu(engine, [dy], [dx], { start }, { a }) {
    engine.dispatch('slice_backward', {
      bindings: { dy, dx },
      params: copyParams(dx.numel(), dx.shape, dy.shape, a, start),
      threads: dx.numel(),
    });
  },
  cpu([dy], { start, end, n }, { a }) {
    const { outer, inner } = rows(dy.shape, a);
    const m = end - start;
    const dx = new Float64Array(outer * n * inner);
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < m; k++)
        for (let j = 0; j < inner; j++)
          dx[(o * n + start + k) * inner + j] = dy.data[(o * m + k) * inner + j];
    return [dx];
  },
});

/**
 * Concatenation along `axis` (`torch.cat(xs, dim=axis)`); negative axes count from the end. A single tensor is
 * returned as is. The gradient of each input is its slice of dy.
 * @param xs float32 tensors of one rank whose shapes agree except along `axis`.
 * @returns the shape of xs[0] with dim `axis` the sum of theirs.
 * @throws OpError naming `concat` and every shape when xs is empty, the ranks or other dims differ, the axis is
 *   out of range, or an input is int32.
 */
export function concat(xs: Tensor[], axis = 0): Tensor {
  concatShape(xs, { axis });
  return xs.length === 1 ? xs[0] : apply(concatOp, xs, { axis })[0];
}

/**
 * Indices [start, end) along `axis` as a new contiguous tensor (`x.narrow(axis, start, end - start)`, or
 * `x[..., start:end]`); the whole range returns x itself. The gradient is dy placed into zeros.
 * @param x float32, any shape with rank ≥ 1.
 * @returns x's shape with dim `axis` = end − start.
 * @throws OpError when the axis is out of range, not 0 ≤ start ≤ end ≤ x.shape[axis], or x is int32.
 */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const attrs = { axis, start, end };
  const { out } = sliceShape(x, attrs).plan;
  if (out.join() === x.shape.join()) return x;
  return apply(sliceOp, [x], attrs)[0];
}

function unsqueezed(shape: readonly number[], axis: number): number[] {
  return [...shape.slice(0, axis), 1, ...shape.slice(axis)];
}

/**
 * Stacks equal-shaped tensors along a new axis (`torch.stack(xs, dim=axis)`), e.g. T step outputs (B, H) into
 * (T, B, H) with axis 0.
 * @param xs float32 tensors of one shape S.
 * @param axis position of the new dim in the result, 0 ≤ axis ≤ rank(S) (negative counts from the end).
 * @returns S with a dim of size xs.length inserted at `axis`.
 * @throws OpError (from concat) when xs is empty or the shapes differ; when the axis is out of range.
 */
export function stack(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new OpError('stack', 'needs at least one tensor', []);
  const rank = xs[0].shape.length;
  const a = axis < 0 ? axis + rank + 1 : axis;
  if (!Number.isInteger(a) || a < 0 || a > rank)
    throw new OpError('stack', `axis ${axis} out of range for rank ${rank}`, [xs[0].shape]);
  for (const x of xs)
    if (x.shape.join() !== xs[0].shape.join())
      throw new OpError(
        'stack',
        'all tensors must have one shape',
        xs.map((t) => t.shape),
      );
  return concat(
    xs.map((x) => reshape(x, unsqueezed(x.shape, a))),
    a,
  );
}

/**
 * Splits x along `axis` into x.shape[axis] tensors with that dim removed (`torch.unbind(x, dim=axis)`), e.g. the
 * (T, B, 3H) input projections of a GRU into T steps (B, 3H). Every slice's gradient is a zero-padded copy of the
 * size of the tensor it was cut from, so slicing each of n indices straight from x costs n² elements in backward:
 * up to {@link DIRECT_UNBIND} indices (d2l's 10 time steps) that is cheaper than launches, and past it the split
 * halves recursively (n log n elements, about 2n launches more).
 * @param x float32 with rank ≥ 1.
 * @throws OpError when the axis is out of range or x is int32.
 */
export function unbind(x: Tensor, axis = 0): Tensor[] {
  const a = normAxis('unbind', axis, [x.shape]);
  const squeezed = x.shape.filter((_, i) => i !== a);
  const n = x.shape[a];
  if (n <= DIRECT_UNBIND)
    return Array.from({ length: n }, (_, i) => reshape(slice(x, a, i, i + 1), squeezed));
  const out: Tensor[] = [];
  const split = (t: Tensor): void => {
    const m = t.shape[a];
    if (m === 1) {
      out.push(reshape(t, squeezed));
      return;
    }
    const mid = Math.floor(m / 2);
    split(slice(t, a, 0, mid));
    split(slice(t, a, mid, m));
  };
  split(x);
  return out;
}

/** Longest axis that {@link unbind} slices index by index. */
export const DIRECT_UNBIND = 16;
