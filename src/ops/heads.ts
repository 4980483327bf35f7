/**
 * Splitting the feature axis into attention heads and joining it back, d2l §11.5 `transpose_qkv` and
 * `transpose_output`: two permutation kernels (shaders/split_heads.wgsl, shaders/merge_heads.wgsl), each the
 * other's gradient.
 *
 * Why a kernel and not a view: the head split is a transpose, not a reshape. `x.view(B, H, −1, D)` is NOT the
 * same as `x.view(B, −1, H, D).transpose(1, 2)`: the first reinterprets the contiguous (L, H·D) memory of a
 * batch item as H consecutive blocks of L·D values, so "head h" receives whole positions (all H·D features of
 * positions h·L/H … (h + 1)·L/H − 1 when H divides L) instead of feature columns h·D … (h + 1)·D − 1 of every
 * position: positions are mixed across heads. With B = 1, L = 2, H = 2, D = 2 and x = arange(8) (rows [0 1 2 3] and [4 5 6 7]):
 * the correct split gives head 0 = [[0, 1], [4, 5]] and head 1 = [[2, 3], [6, 7]] (each head keeps its own
 * feature columns at every position), the naive view head 0 = [[0, 1], [2, 3]] and head 1 = [[4, 5], [6, 7]]
 * (position 0 only, then position 1 only). test/heads.test.ts asserts both.
 */
import { OpError, apply, type OpCase, type OpDef, type TensorMeta } from '../runtime/op.js';
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../runtime/tensor.js';

export interface HeadsAttrs {
  /** H, the number of heads. */
  numHeads: number;
}

interface Geometry {
  b: number;
  l: number;
  h: number;
  d: number;
}

/** Checks x (B, L, H·D) float32 and an integer H ≥ 1 dividing the last dim. */
function splitGeometry(x: TensorMeta, { numHeads: h }: HeadsAttrs): Geometry {
  if (!Number.isInteger(h) || h < 1)
    throw new OpError('split_heads', `numHeads must be an integer >= 1, got ${h}`, [x.shape]);
  if (x.shape.length !== 3 || x.dtype !== 'float32')
    throw new OpError('split_heads', 'expects x (B, L, H·D) float32', [x.shape]);
  const [b, l, e] = x.shape;
  if (e % h !== 0)
    throw new OpError('split_heads', `last dim ${e} is not divisible by numHeads = ${h}`, [x.shape]);
  return { b, l, h, d: e / h };
}

/** Checks x (B·H, L, D) float32 and an integer H ≥ 1 dividing the first dim. */
function mergeGeometry(x: TensorMeta, { numHeads: h }: HeadsAttrs): Geometry {
  if (!Number.isInteger(h) || h < 1)
    throw new OpError('merge_heads', `numHeads must be an integer >= 1, got ${h}`, [x.shape]);
  if (x.shape.length !== 3 || x.dtype !== 'float32')
    throw new OpError('merge_heads', 'expects x (B·H, L, D) float32', [x.shape]);
  const [bh, l, d] = x.shape;
  if (bh % h !== 0)
    throw new OpError('merge_heads', `first dim ${bh} is not divisible by numHeads = ${h}`, [x.shape]);
  return { b: bh / h, l, h, d };
}

function launch(kernel: string, engine: Engine, x: Tensor, y: Tensor, g: Geometry): void {
  if (y.numel() === 0) return;
  engine.dispatch(kernel, {
    bindings: { x, y },
    params: { count: y.numel(), l: g.l, h: g.h, d: g.d },
    threads: y.numel(),
  });
}

/** [B, L, H, D] shapes for the registry: awkward sizes, 1-sized dims, primes, one past the 2-D grid fold. */
const geometries: { bhld: [number, number, number, number]; noGradCheck?: boolean }[] = [
  { bhld: [1, 1, 1, 1] },
  { bhld: [2, 3, 1, 5] },
  { bhld: [2, 1, 4, 3] },
  { bhld: [3, 5, 7, 1] },
  { bhld: [2, 7, 3, 11] },
  { bhld: [1, 13, 2, 64] },
  // 2·2·1025·1024 ≈ 4.2M elements > 65535 · 64: the dispatch folds into a 2-D grid.
  { bhld: [2, 1025, 2, 1024], noGradCheck: true },
];

export const splitHeadsOp: OpDef<HeadsAttrs, Geometry> = {
  name: 'split_heads',
  shape([x], attrs) {
    const g = splitGeometry(x, attrs);
    return { outputs: [{ shape: [g.b * g.h, g.l, g.d] }], plan: g };
  },
  gpu(engine, [x], [y], _attrs, g) {
    launch('split_heads', engine, x, y, g);
  },
  cpu([x], _attrs, { b, l, h, d }) {
    // d2l's reshape(B, L, H, D) → permute(0, 2, 1, 3): walk the input in its own order and place each value.
    const y = new Float64Array(b * l * h * d);
    for (let bi = 0; bi < b; bi++)
      for (let li = 0; li < l; li++)
        for (let hi = 0; hi < h; hi++)
          for (let di = 0; di < d; di++)
            y[((bi * h + hi) * l + li) * d + di] = x.data[((bi * l + li) * h + hi) * d + di];
    return [y];
  },
  // A permutation: its gradient is the inverse permutation of dy.
  backward: ({ dy, attrs }) => [apply(mergeHeadsOp, [dy], attrs)[0]],
  cases: geometries.map(({ bhld: [b, l, h, d], noGradCheck }) => ({
    inputs: [{ shape: [b, l, h * d] }],
    attrs: { numHeads: h },
    noGradCheck,
  })) satisfies OpCase<HeadsAttrs>[],
};

export const mergeHeadsOp: OpDef<HeadsAttrs, Geometry> = {
  name: 'merge_heads',
  shape([x], attrs) {
    const g = mergeGeometry(x, attrs);
    return { outputs: [{ shape: [g.b, g.l, g.h * g.d] }], plan: g };
  },
  gpu(engine, [x], [y], _attrs, g) {
    launch('merge_heads', engine, x, y, g);
  },
  cpu([x], _attrs, { b, l, h, d }) {
    const y = new Float64Array(b * l * h * d);
    for (let bi = 0; bi < b; bi++)
      for (let hi = 0; hi < h; hi++)
        for (let li = 0; li < l; li++)
          for (let di = 0; di < d; di++)
            y[((bi * l + li) * h + hi) * d + di] = x.data[((bi * h + hi) * l + li) * d + di];
    return [y];
  },
  backward: ({ dy, attrs }) => [apply(splitHeadsOp, [dy], attrs)[0]],
  cases: geometries.map(({ bhld: [b, l, h, d], noGradCheck }) => ({
    inputs: [{ shape: [b * h, l, d] }],
    attrs: { numHeads: h },
    noGradCheck,
  })) satisfies OpCase<HeadsAttrs>[],
};

/**
 * d2l's `transpose_qkv` (§11.5): splits the feature axis into heads and moves the heads into the batch,
 * `x.reshape(B, L, H, −1).permute(0, 2, 1, 3).reshape(B·H, L, D)`, so one batched attention call serves every
 * head. A copy kernel, not a view: see the file comment for why `x.view(B, H, −1, D)` would be wrong.
 * @param x (B, L, E) float32 with E = H·D.
 * @param numHeads H.
 * @returns (B·H, L, D); row b·H + h holds head h of batch item b. Gradient: mergeHeads(dy, H).
 * @throws OpError naming `split_heads` and the shape when x is not rank 3 float32, H is not an integer ≥ 1,
 *   or H does not divide E.
 */
export function splitHeads(x: Tensor, numHeads: number): Tensor {
  return apply(splitHeadsOp, [x], { numHeads })[0];
}

/**
 * d2l's `transpose_output` (§11.5), the inverse of {@link splitHeads}:
 * `x.reshape(B, H, L, D).permute(0, 2, 1, 3).reshape(B, L, H·D)`.
 * @param x (B·H, L, D) float32.
 * @param numHeads H.
 * @returns (B, L, H·D). Gradient: splitHeads(dy, H).
 * @throws OpError naming `merge_heads` and the shape when x is not rank 3 float32, H is not an integer ≥ 1,
 *   or H does not divide x's first dim.
 */
export function mergeHeads(x: Tensor, numHeads: number): Tensor {
  return apply(mergeHeadsOp, [x], { numHeads })[0];
}
