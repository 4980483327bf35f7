/**
 * Reordering axes, `torch.permute(x, dims)` and `torch.transpose(x, dim0, dim1)`: one copy kernel,
 * shaders/permute.wgsl, on u32 bits (float32 and int32 alike). PyTorch returns a strided view; this library keeps
 * every tensor contiguous, so the permuted tensor is a copy, and its gradient is the inverse permutation of dy.
 */
import { OpError, apply, type OpDef } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

export interface PermuteAttrs {
  /** y's axis k is x's axis dims[k]; negative axes count from the end, as in PyTorch. */
  dims: readonly number[];
}

/** Axes the kernel's params hold (two vec4 of strides each). */
const MAX_RANK = 8;

/** dims with negative axes resolved. @throws OpError unless dims is a permutation of x's axes. */
function normDims(op: string, shape: readonly number[], dims: readonly number[]): number[] {
  const rank = shape.length;
  const out = dims.map((d) => (Number.isInteger(d) && d < 0 ? d + rank : d));
  const seen = new Set(out);
  if (
    out.length !== rank ||
    seen.size !== rank ||
    out.some((d) => !Number.isInteger(d) || d < 0 || d >= rank)
  )
    throw new OpError(op, `dims [${dims.join(', ')}] is not a permutation of the ${rank} axes of x`, [shape]);
  return out;
}

function rowMajorStrides(shape: readonly number[]): number[] {
  return shape.map((_, k) => numel(shape.slice(k + 1)));
}

/**
 * The kernel's view of the permutation: size-1 axes dropped, and runs of axes that stay adjacent and in order
 * merged (x's axes 2, 3 landing as y's axes 1, 2 move as one), so a copy or a batch of transposes stays low-rank.
 * Returns y's merged sizes, and for each merged axis its stride in x.
 */
function collapse(shape: readonly number[], dims: readonly number[]) {
  const xStrides = rowMajorStrides(shape);
  // x's axes of size > 1, renumbered so that adjacency skips the size-1 ones.
  const order = new Map(
    shape
      .map((n, a) => [n, a] as const)
      .filter(([n]) => n > 1)
      .map(([, a], i) => [a, i]),
  );
  const sizes: number[] = [];
  const strides: number[] = [];
  let prev = -2;
  for (const a of dims) {
    const r = order.get(a);
    if (r === undefined) continue;
    if (r === prev + 1) {
      sizes[sizes.length - 1] *= shape[a];
      strides[strides.length - 1] = xStrides[a];
    } else {
      sizes.push(shape[a]);
      strides.push(xStrides[a]);
    }
    prev = r;
  }
  return { sizes, strides };
}

/** The plan: dims resolved, y's shape, and the kernel's collapsed view (y's merged sizes, their strides in x). */
interface Plan {
  dims: number[];
  yShape: number[];
  sizes: number[];
  strides: number[];
}

export const permuteOp: OpDef<PermuteAttrs, Plan> = {
  name: 'permute',
  shape([x], { dims }) {
    const d = normDims('permute', x.shape, dims);
    const { sizes, strides } = collapse(x.shape, d);
    const groups = sizes.length;
    if (groups > MAX_RANK)
      throw new OpError(
        'permute',
        `dims [${dims.join(', ')}] move ${groups} groups of axes apart; the kernel handles ${MAX_RANK}`,
        [x.shape],
      );
    const yShape = d.map((a) => x.shape[a]);
    return { outputs: [{ shape: yShape, dtype: x.dtype }], plan: { dims: d, yShape, sizes, strides } };
  },
  gpu(engine, [x], [y], _attrs, { sizes, strides }) {
    if (y.numel() === 0) return;
    engine.dispatch('permute', {
      bindings: { x, y },
      params: { count: y.numel(), rank: sizes.length, ystride: rowMajorStrides(sizes), xstride: strides },
      threads: y.numel(),
    });
  },
  cpu([x], _attrs, { dims: d, yShape }) {
    // Walk y in order; each y index, read as x's indices through dims, addresses x.
    const xStrides = rowMajorStrides(x.shape);
    const y = new Float64Array(x.data.length);
    for (let i = 0; i < y.length; i++) {
      let rest = i;
      let src = 0;
      for (let k = yShape.length - 1; k >= 0; k--) {
        src += (rest % yShape[k]) * xStrides[d[k]];
        rest = Math.floor(rest / yShape[k]);
      }
      y[i] = x.data[src];
    }
    return [y];
  },
  // A permutation: dx is dy permuted back, y's axis k returning to x's axis dims[k].
  backward({ dy, plan: { dims } }) {
    const inverse: number[] = [];
    dims.forEach((a, k) => (inverse[a] = k));
    return [apply(permuteOp, [dy], { dims: inverse })[0]];
  },
  cases: [
    { name: 'transpose', inputs: [{ shape: [3, 5] }], attrs: { dims: [1, 0] } },
    { name: 'middle axes', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { dims: [0, 2, 1, 3] } },
    { name: 'negative axes', inputs: [{ shape: [2, 7, 3] }], attrs: { dims: [-1, 0, -2] } },
    { inputs: [{ shape: [3, 1, 5, 2] }], attrs: { dims: [3, 1, 0, 2] } },
    { name: 'identity', inputs: [{ shape: [4, 3] }], attrs: { dims: [0, 1] } },
    { name: 'rank 1', inputs: [{ shape: [9] }], attrs: { dims: [0] } },
    { name: 'scalar', inputs: [{ shape: [] }], attrs: { dims: [] } },
    { name: 'empty', inputs: [{ shape: [2, 0, 3] }], attrs: { dims: [2, 1, 0] } },
    {
      name: 'rank 10, 1-sized axes dropped',
      inputs: [{ shape: [2, 1, 3, 1, 1, 2, 1, 1, 1, 3] }],
      attrs: { dims: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] },
    },
    {
      name: 'rank 8, reversed',
      inputs: [{ shape: [2, 3, 2, 2, 3, 2, 2, 2] }],
      attrs: { dims: [7, 6, 5, 4, 3, 2, 1, 0] },
    },
    {
      name: 'int32 bits',
      inputs: [{ shape: [3, 4, 5], dtype: 'int32', fill: { int: 1000 } }],
      attrs: { dims: [2, 0, 1] },
      // Integers take no gradient.
      noGradCheck: true,
    },
    {
      name: 'fold past 65535 groups',
      inputs: [{ shape: [1025, 2, 2048] }],
      attrs: { dims: [2, 1, 0] },
      noGradCheck: true,
    },
  ],
};

/**
 * Reorders the axes of x, `torch.permute(x, dims)` / `x.permute(*dims)`: y's axis k is x's axis dims[k]. A copy
 * (PyTorch returns a view), so later writes to x do not show in y.
 * @param x float32 or int32, any shape (…).
 * @param dims a permutation of 0 … rank − 1; negative axes count from the end.
 * @returns y with y.shape[k] = x.shape[dims[k]], x's dtype. Gradient: dy permuted back by the inverse permutation.
 * @throws OpError naming `permute` and x's shape when dims is not a permutation of x's axes, or when more than 8
 *   groups of axes move apart (after size-1 axes are dropped and axes that stay together are merged).
 */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  return apply(permuteOp, [x], { dims })[0];
}

/**
 * Swaps two axes, `torch.transpose(x, dim0, dim1)` / `x.transpose(dim0, dim1)` (for rank 2, `x.T`): a
 * {@link permute} that exchanges dim0 and dim1, a copy.
 * @param x float32 or int32, any shape of rank ≥ 1 (…, dim0 …, dim1 …).
 * @param dim0 an axis in [−rank, rank).
 * @param dim1 an axis in [−rank, rank).
 * @returns x with the two axes' lengths and indices swapped, x's dtype. Gradient: dy transposed back.
 * @throws OpError naming `transpose` and x's shape when an axis is out of range.
 */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const rank = x.shape.length;
  const norm = (d: number) => {
    if (!Number.isInteger(d) || d < -rank || d >= rank)
      throw new OpError('transpose', `dim ${d} is out of range for rank ${rank}`, [x.shape]);
    return d < 0 ? d + rank : d;
  };
  const [a, b] = [norm(dim0), norm(dim1)];
  const dims = x.shape.map((_, k) => (k === a ? b : k === b ? a : k));
  return apply(permuteOp, [x], { dims })[0];
}
