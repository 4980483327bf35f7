/**
 * Softmax and log-softmax along any axis, `torch.softmax(x, dim)` and `torch.log_softmax(x, dim)`, numerically
 * stable as PyTorch's (the row maximum is subtracted before exp). x is viewed as (outer, n, inner) around the axis,
 * so a middle axis needs no transpose. One kernel pair per kernel set, log-softmax by the override LOG: a workgroup
 * per row with tree reductions on GPUs (shaders/softmax.wgsl, softmax_backward.wgsl), one thread per row without
 * barriers on CPU emulators and for GPU rows far apart in memory (softmax_rows*.wgsl). For d2l's masked softmax
 * over attention scores see masked_softmax.ts.
 */
import type { Engine } from '../runtime/engine.js';
import { OpError, apply, backwardOnlyOp, type OpCase, type OpDef, type TensorMeta } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

export interface SoftmaxAttrs {
  /** The axis the probabilities sum over; negative counts from the end. */
  axis: number;
}

type Name = 'softmax' | 'log_softmax';

/** x as (outer, n, inner) around the axis; rows = outer·inner. @throws OpError for a bad axis or dtype. */
function view(op: string, x: TensorMeta, axis: number) {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < -Math.max(rank, 1) || axis >= Math.max(rank, 1))
    throw new OpError(op, `axis ${axis} is out of range for rank ${rank}`, [x.shape]);
  if (x.dtype !== 'float32') throw new OpError(op, `needs float32, got ${x.dtype}`, [x.shape]);
  // A scalar is one row of one element, as torch.softmax(scalar, 0) = 1.
  const a = axis < 0 ? axis + Math.max(rank, 1) : axis;
  const outer = numel(x.shape.slice(0, a));
  const inner = numel(x.shape.slice(a + 1));
  return { outer, n: x.shape[a] ?? 1, inner, rows: outer * inner };
}

/** The plan of both ops. */
type View = ReturnType<typeof view>;

/**
 * GPUs take the workgroup-per-row kernel unless rows sit ≥ 64 elements apart (inner ≥ 64): then one thread per
 * row reads memory coalesced across the workgroup. CPU emulators always take one thread per row.
 */
function launch(
  engine: Engine,
  kernel: 'softmax' | 'softmax_backward',
  log: boolean,
  v: View,
  bindings: Record<string, Tensor>,
) {
  if (v.rows * v.n === 0) return;
  const perThread = engine.pick({ software: true, hardware: v.inner >= 64 });
  engine.dispatch(perThread ? kernel.replace('softmax', 'softmax_rows') : kernel, {
    bindings,
    params: { rows: v.rows, n: v.n, inner: v.inner },
    constants: { LOG: log ? 1 : 0 },
    ...(perThread ? { threads: v.rows } : { groups: v.rows }),
  });
}

/** float64 reference rows: calls `f(indices)` with the flat indices of each row. */
function eachRow(v: View, f: (idx: number[]) => void): void {
  for (let o = 0; o < v.outer; o++)
    for (let j = 0; j < v.inner; j++) f(Array.from({ length: v.n }, (_, k) => (o * v.n + k) * v.inner + j));
}

/** Softmax or log-softmax as an OpDef; `name` also names the shaders' LOG variant and the backward op. */
function softmaxDef(name: Name): { forward: OpDef<SoftmaxAttrs, View>; backward: OpDef<SoftmaxAttrs, View> } {
  const log = name === 'log_softmax';
  const backwardName = `${name}_backward`;
  const backward = backwardOnlyOp<SoftmaxAttrs, View>({
    name: backwardName,
    shape([y, dy], { axis }) {
      if (y.shape.join() !== dy.shape.join())
        throw new OpError(backwardName, 'y and dy must have one shape', [y.shape, dy.shape]);
      return { outputs: [{ shape: y.shape }], plan: view(backwardName, y, axis) };
    },
    gpu(engine, [y, dy], [dx], _attrs, v) {
      launch(engine, 'softmax_backward', log, v, { y, dy, dx });
    },
    cpu([y, dy], _attrs, v) {
      const dx = new Float64Array(y.data.length);
      eachRow(v, (idx) => {
        // softmax: dx = y ⊙ (dy − Σ dy·y); log-softmax: dx = dy − softmax ⊙ Σ dy, with softmax = exp(y).
        const t = idx.reduce((s, i) => s + dy.data[i] * (log ? 1 : y.data[i]), 0);
        for (const i of idx)
          dx[i] = log ? dy.data[i] - Math.exp(y.data[i]) * t : y.data[i] * (dy.data[i] - t);
      });
      return [dx];
    },
  });
  const forward: OpDef<SoftmaxAttrs, View> = {
    name,
    shape: ([x], { axis }) => ({ outputs: [{ shape: x.shape }], plan: view(name, x, axis) }),
    gpu(engine, [x], [y], _attrs, v) {
      launch(engine, 'softmax', log, v, { x, y });
    },
    cpu([x], _attrs, v) {
      const y = new Float64Array(x.data.length);
      eachRow(v, (idx) => {
        const m = idx.reduce((a, i) => Math.max(a, x.data[i]), -Infinity);
        const s = idx.reduce((a, i) => a + Math.exp(x.data[i] - m), 0);
        for (const i of idx) y[i] = log ? x.data[i] - m - Math.log(s) : Math.exp(x.data[i] - m) / s;
      });
      return [y];
    },
    // Through y, the saved output: the gradient needs y (softmax) or exp(y) (log-softmax), not x.
    backward: ({ outputs: [y], dy, attrs }) => [apply(backward, [y, dy], attrs)[0]],
    cases: cases(),
  };
  return { forward, backward };
}

/** Axis -1 and middle axes, odd sizes, rows longer than a workgroup, rows ≥ 64 apart (GPU one-thread rows). */
function cases(): OpCase<SoftmaxAttrs>[] {
  return [
    { inputs: [{ shape: [1] }], attrs: { axis: 0 } },
    { name: 'scalar', inputs: [{ shape: [] }], attrs: { axis: -1 } },
    { inputs: [{ shape: [2, 3, 7] }], attrs: { axis: -1 } },
    { name: 'middle axis', inputs: [{ shape: [3, 5, 4] }], attrs: { axis: 1 } },
    { name: 'first axis', inputs: [{ shape: [6, 3] }], attrs: { axis: 0 } },
    { name: 'row > workgroup', inputs: [{ shape: [3, 301] }], attrs: { axis: -1 } },
    { name: 'middle axis, row > workgroup', inputs: [{ shape: [2, 257, 3] }], attrs: { axis: -2 } },
    { name: 'rows 67 apart', inputs: [{ shape: [2, 5, 67] }], attrs: { axis: 1 } },
    { name: 'empty', inputs: [{ shape: [2, 0, 3] }], attrs: { axis: 2 } },
    {
      name: 'wide range',
      inputs: [{ shape: [1, 4], fill: { values: [-80, 0, 30, 90] } }],
      attrs: { axis: 1 },
    },
    { name: 'long rows', inputs: [{ shape: [4, 5000] }], attrs: { axis: 1 }, noGradCheck: true },
  ];
}

const softmaxDefs = softmaxDef('softmax');
const logSoftmaxDefs = softmaxDef('log_softmax');
export const softmaxOp = softmaxDefs.forward;
export const softmaxBackward = softmaxDefs.backward;
export const logSoftmaxOp = logSoftmaxDefs.forward;
export const logSoftmaxBackward = logSoftmaxDefs.backward;

/**
 * Softmax along an axis, `torch.softmax(x, dim)` / `F.softmax(x, dim)`: y = exp(x − m) / Σ exp(x − m) with m the
 * maximum along the axis, so large scores do not overflow. Unmasked; for d2l's valid-length mask use
 * `maskedSoftmax`.
 * @param x float32, any shape (…, N, …); a scalar gives 1.
 * @param axis the axis N the probabilities sum over, default −1 (the last); negative counts from the end.
 * @returns y, x's shape, each row along the axis summing to 1. Backward: dx = y ⊙ (dy − Σ_axis dy ⊙ y).
 * @throws OpError naming `softmax` and x's shape when the axis is out of range or x is int32.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(softmaxOp, [x], { axis })[0];
}

/**
 * Log-softmax along an axis, `torch.log_softmax(x, dim)` / `F.log_softmax(x, dim)`: y = x − m − log Σ exp(x − m)
 * with m the maximum along the axis, exact where log(softmax(x)) would underflow to −inf.
 * @param x float32, any shape (…, N, …).
 * @param axis the axis N, default −1 (the last); negative counts from the end.
 * @returns y, x's shape, with Σ_axis exp(y) = 1. Backward: dx = dy − exp(y) ⊙ Σ_axis dy.
 * @throws OpError naming `log_softmax` and x's shape when the axis is out of range or x is int32.
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return apply(logSoftmaxOp, [x], { axis })[0];
}
