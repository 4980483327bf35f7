/**
 * Table lookup, `torch.nn.functional.embedding(indices, weight)`: a gather kernel (shaders/embedding.wgsl) and a
 * scatter-add gradient written as a gather (shaders/embedding_backward.wgsl), since WGSL has no float atomics.
 *
 * Indices outside [0, V) raise an OpError as PyTorch's IndexError: at the call when the host holds them, else from
 * the kernel's device-side check at the next readback or `sync()` (the kernels clamp only to keep reads in bounds).
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
import { checkRange } from './int_checks.js';

/** No attributes: V and E come from the weight's shape. */
export type EmbeddingAttrs = Record<string, never>;

function check(op: string, w: TensorMeta | null, v: number, e: number, idx: TensorMeta, shapes: number[][]) {
  if (w && (w.shape.length !== 2 || w.dtype !== 'float32'))
    throw new OpError(op, 'weight must be (V, E) float32', shapes);
  if (idx.dtype !== 'int32')
    throw new OpError(op, `indices must be int32, got ${idx.dtype} (upload them with dtype 'int32')`, shapes);
  if (v < 1 || e < 1) throw new OpError(op, 'the table needs V >= 1 rows of E >= 1 features', shapes);
}

/** The plan: N indices into a table of V rows of E features. */
interface Table {
  n: number;
  v: number;
  e: number;
}

export const embeddingOp: OpDef<EmbeddingAttrs, Table> = {
  name: 'embedding',
  shape([w, idx]) {
    const shapes = [[...w.shape], [...idx.shape]];
    check('embedding', w, w.shape[0], w.shape[1], idx, shapes);
    checkRange('embedding', 'index', idx, w.shape[0], shapes);
    const [v, e] = w.shape;
    return { outputs: [{ shape: [...idx.shape, e] }], plan: { n: numel(idx.shape), v, e } };
  },
  gpu(engine, [w, idx], [y], _attrs, { n, v, e }) {
    if (n * e === 0) return;
    engine.dispatch('embedding', {
      bindings: { w, idx, y },
      params: { count: n * e, v, e },
      threads: n * e,
    });
  },
  cpu([w, idx], _attrs, { n: count, e }) {
    const y = new Float64Array(count * e);
    for (let n = 0; n < count; n++) {
      const row = idx.data[n];
      for (let k = 0; k < e; k++) y[n * e + k] = w.data[row * e + k];
    }
    return [y];
  },
  backward: ({ inputs: [, idx], dy, plan: { v } }) => [
    apply(embeddingBackward, [idx, dy], { v })[0],
    // Indices are integers: no gradient.
    null,
  ],
  cases: [
    { inputs: [{ shape: [1, 1] }, { shape: [1], dtype: 'int32', fill: { int: 1 } }], attrs: {} },
    {
      name: 'repeated indices accumulate',
      inputs: [
        { shape: [5, 3] },
        { shape: [2, 4], dtype: 'int32', fill: { values: [1, 3, 1, 1, 0, 3, 4, 1] } },
      ],
      attrs: {},
    },
    { inputs: [{ shape: [13, 17] }, { shape: [3, 2, 5], dtype: 'int32', fill: { int: 13 } }], attrs: {} },
    { inputs: [{ shape: [200, 1] }, { shape: [64], dtype: 'int32', fill: { int: 200 } }], attrs: {} },
    {
      name: 'fold past 65535 groups',
      inputs: [{ shape: [50, 2100] }, { shape: [2000], dtype: 'int32', fill: { int: 50 } }],
      attrs: {},
      noGradCheck: true,
    },
  ],
};

/** Attributes of the gradient op: V, the rows of dw (the weight is not an input of it). */
interface EmbeddingBackwardAttrs {
  v: number;
}

function backwardCpu(
  [idx, dy]: CpuTensor[],
  _attrs: EmbeddingBackwardAttrs,
  { n, v, e }: Table,
): Float64Array[] {
  const dw = new Float64Array(v * e);
  for (let i = 0; i < n; i++) {
    const row = idx.data[i];
    for (let k = 0; k < e; k++) dw[row * e + k] += dy.data[i * e + k];
  }
  return [dw];
}

export const embeddingBackward = backwardOnlyOp<EmbeddingBackwardAttrs, Table>({
  name: 'embedding_backward',
  shape([idx, dy], { v }) {
    const shapes = [[...idx.shape], [...dy.shape]];
    const e = dy.shape.at(-1) ?? 0;
    check('embedding_backward', null, v, e, idx, shapes);
    if (dy.shape.length !== idx.shape.length + 1 || idx.shape.some((d, i) => d !== dy.shape[i]))
      throw new OpError('embedding_backward', 'dy must be (…indices shape, E)', shapes);
    return { outputs: [{ shape: [v, e] }], plan: { n: numel(idx.shape), v, e } };
  },
  gpu(engine, [idx, dy], [dw], _attrs, { n, v, e }) {
    engine.dispatch('embedding_backward', {
      bindings: { idx, dy, dw },
      params: { count: v * e, n, v, e },
      threads: v * e,
    });
  },
  cpu: backwardCpu,
});

/**
 * Row lookup `weight[indices]` (`torch.nn.functional.embedding(indices, weight)`), d2l's token embeddings.
 * @param weight (V, E) float32, the table.
 * @param indices int32 of any shape (…), e.g. tokens (B, L), each in [0, V).
 * @returns (…, E). Gradient: dweight[v] = Σ over positions n with indices[n] = v of dy[n] (repeated indices
 *   accumulate), computed without atomics in O(V·N·E) work (N = number of indices); indices get none.
 * @throws OpError naming `embedding` and both shapes when weight is not (V, E) float32 with V, E ≥ 1 or indices
 *   are not int32; OpError naming the index and its position when an index the host holds (any CPU tensor, a
 *   `tensor()` / `fromArray` upload on WebGPU) is outside [0, V), as PyTorch's "index out of range" — one that only
 *   the GPU holds raises the same OpError from the kernel at the next readback or `sync()`.
 */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return apply(embeddingOp, [weight, indices], {})[0];
}
