/**
 * Additive attention scores, d2l §11.3 `AdditiveAttention`: y[b, i, j] = wᵀ tanh(q_i + k_j) from the projected
 * queries q = W_q·queries and keys k = W_k·keys. The fused kernel (shaders/additive_score.wgsl) never stores the
 * (B, L, S, H) tanh features that d2l's broadcast builds; its backward (additive_score_backward.wgsl) recomputes
 * them, one pass for dq with per-row dw partials (summed by reduce.wgsl) and one for dk. `additiveScoreComposed`
 * is the d2l construction from elementwise ops, kept as the reference the fused kernel is tested against.
 */
import {
  OpError,
  apply,
  backwardOnlyOp,
  type CpuTensor,
  type OpDef,
  type TensorMeta,
} from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { add, tanh } from './elementwise.js';
import { matmul } from './matmul.js';
import { reshape } from './shape.js';

/** No attributes. */
export type AdditiveScoreAttrs = Record<string, never>;

/** Tile edge T of both kernels (T×T threads per workgroup); see the WGSL headers. */
const T = 16;

/** The plan of both ops: B batches of L queries and S keys in H hidden units. */
interface Dims {
  b: number;
  l: number;
  s: number;
  h: number;
}

function dims(op: string, q: TensorMeta, k: TensorMeta, w: TensorMeta): Dims {
  const shapes = [q.shape, k.shape, w.shape];
  if (q.shape.length !== 3 || k.shape.length !== 3 || w.shape.length !== 1)
    throw new OpError(op, 'expects q (B, L, H), k (B, S, H) and w (H)', shapes);
  const [b, l, h] = q.shape;
  if (k.shape[0] !== b || k.shape[2] !== h || w.shape[0] !== h)
    throw new OpError(op, 'batch sizes or hidden sizes H of q (B, L, H), k (B, S, H), w (H) differ', shapes);
  if ([q, k, w].some((t) => t.dtype !== 'float32'))
    throw new OpError(op, 'q, k and w must be float32', shapes);
  return { b, l, s: k.shape[1], h };
}

function scoresCpu(q: CpuTensor, k: CpuTensor, w: CpuTensor, { b, l, s, h }: Dims): Float64Array {
  const y = new Float64Array(b * l * s);
  for (let z = 0; z < b; z++)
    for (let i = 0; i < l; i++)
      for (let j = 0; j < s; j++) {
        let acc = 0;
        for (let c = 0; c < h; c++)
          acc += w.data[c] * Math.tanh(q.data[(z * l + i) * h + c] + k.data[(z * s + j) * h + c]);
        y[(z * l + i) * s + j] = acc;
      }
  return y;
}

export const additiveScoreOp: OpDef<AdditiveScoreAttrs, Dims> = {
  name: 'additive_score',
  shape([q, k, w]) {
    const d = dims('additive_score', q, k, w);
    return { outputs: [{ shape: [d.b, d.l, d.s] }], plan: d };
  },
  gpu(engine, [q, k, w], [y], _attrs, d) {
    for (let z0 = 0; z0 < d.b; z0 += engine.maxWorkgroups)
      engine.dispatch('additive_score', {
        bindings: { q, k, w, y },
        params: { l: d.l, s: d.s, h: d.h, z0 },
        constants: { T },
        groups: [Math.ceil(d.s / T), Math.ceil(d.l / T), Math.min(engine.maxWorkgroups, d.b - z0)],
      });
  },
  cpu: ([q, k, w], _attrs, d) => [scoresCpu(q, k, w, d)],
  backward({ inputs, dy }) {
    const [dq, dk, dw] = apply(additiveScoreBackward, [...inputs, dy], {});
    return [dq, dk, dw];
  },
  cases: [
    { inputs: [{ shape: [1, 1, 1] }, { shape: [1, 1, 1] }, { shape: [1] }], attrs: {} },
    {
      name: 'L = 1, S = 7, H = 13',
      inputs: [{ shape: [3, 1, 13] }, { shape: [3, 7, 13] }, { shape: [13] }],
      attrs: {},
    },
    {
      name: 'several tiles in L, S and H',
      inputs: [{ shape: [2, 17, 20] }, { shape: [2, 19, 20] }, { shape: [20] }],
      attrs: {},
    },
    { name: 'S = 1', inputs: [{ shape: [2, 5, 3] }, { shape: [2, 1, 3] }, { shape: [3] }], attrs: {} },
    {
      name: 'forward only: larger',
      inputs: [{ shape: [3, 40, 70] }, { shape: [3, 33, 70] }, { shape: [70] }],
      attrs: {},
      noGradCheck: true,
    },
    {
      name: 'forward only: batch past one dispatch',
      inputs: [{ shape: [65537, 1, 2] }, { shape: [65537, 2, 2] }, { shape: [2] }],
      attrs: {},
      noGradCheck: true,
    },
  ],
};

/** Gradients [dq, dk, dw] of `additive_score` from [q, k, w, dy]; its own op so its kernels have a reference. */
export const additiveScoreBackward = backwardOnlyOp<AdditiveScoreAttrs, Dims>({
  name: 'additive_score_backward',
  shape([q, k, w, dy]) {
    const d = dims('additive_score_backward', q, k, w);
    if (dy.shape.join() !== [d.b, d.l, d.s].join())
      throw new OpError('additive_score_backward', 'dy must be (B, L, S)', [
        q.shape,
        k.shape,
        w.shape,
        dy.shape,
      ]);
    return { outputs: [{ shape: q.shape }, { shape: k.shape }, { shape: w.shape }], plan: d };
  },
  gpu(engine, [q, k, w, dy], [dq, dk, dw], _attrs, d) {
    const dwr = engine.empty([d.b, d.l, d.h]);
    const pass = (x: Tensor, z: Tensor, dx: Tensor, rows: number, other: number, sr: number, sc: number) => {
      const withDw = x === q;
      for (let z0 = 0; z0 < d.b; z0 += engine.maxWorkgroups)
        engine.dispatch('additive_score_backward', {
          bindings: { x, z, w, dy, dx, dwr: withDw ? dwr : null },
          params: { n: rows, m: other, h: d.h, sr, sc, z0 },
          constants: { T, DW: Number(withDw) },
          groups: [Math.ceil(d.h / T), Math.ceil(rows / T), Math.min(engine.maxWorkgroups, d.b - z0)],
        });
    };
    pass(q, k, dq, d.l, d.s, d.s, 1);
    pass(k, q, dk, d.s, d.l, 1, d.s);
    // dw = Σ over the B·L rows of the partials: reduce.wgsl viewing dwr as (1, B·L, H).
    engine.dispatch('reduce', {
      bindings: { x: dwr, y: dw },
      params: { outer: 1, n: d.b * d.l, inner: d.h },
      constants: { OP: 0 },
      groups: d.h,
    });
    // Safe to free now: later dispatches are ordered after these (see Engine.releaseBuffer).
    dwr.dispose();
  },
  cpu([q, k, w, dy], _attrs, { b, l, s, h }) {
    const dq = new Float64Array(b * l * h);
    const dk = new Float64Array(b * s * h);
    const dw = new Float64Array(h);
    for (let z = 0; z < b; z++)
      for (let i = 0; i < l; i++)
        for (let j = 0; j < s; j++) {
          const g = dy.data[(z * l + i) * s + j];
          for (let c = 0; c < h; c++) {
            const qi = (z * l + i) * h + c;
            const kj = (z * s + j) * h + c;
            const t = Math.tanh(q.data[qi] + k.data[kj]);
            const dpre = g * w.data[c] * (1 - t * t);
            dq[qi] += dpre;
            dk[kj] += dpre;
            dw[c] += g * t;
          }
        }
    return [dq, dk, dw];
  },
});

/**
 * Fused additive attention scores (d2l §11.3 `AdditiveAttention`, the part `w_v(tanh(W_q q + W_k k))`):
 * y[b, i, j] = Σ_h w[h] · tanh(q[b, i, h] + k[b, j, h]), without materialising the (B, L, S, H) features.
 * @param q (B, L, H) float32, the projected queries W_q·queries.
 * @param k (B, S, H) float32, the projected keys W_k·keys.
 * @param w (H) float32, the weight of d2l's `w_v` (a Linear(H, 1) without bias) viewed as a vector.
 * @returns scores (B, L, S). Differentiable in q, k and w; the backward recomputes tanh (no 4-D buffer).
 * @throws OpError naming `additive_score` and the shapes when ranks, batch sizes or hidden sizes disagree, or an
 *   input is not float32.
 */
export function additiveScore(q: Tensor, k: Tensor, w: Tensor): Tensor {
  return apply(additiveScoreOp, [q, k, w], {})[0];
}

/**
 * The same scores as {@link additiveScore}, built as d2l builds them: tanh of the broadcast sum
 * `q.unsqueeze(2) + k.unsqueeze(1)`, a (B, L, S, H) tensor, times w. For comparison with the fused kernel.
 * @throws OpError as {@link additiveScore}.
 */
export function additiveScoreComposed(q: Tensor, k: Tensor, w: Tensor): Tensor {
  const { b, l, s, h } = dims('additive_score', q, k, w);
  const features = tanh(add(reshape(q, [b, l, 1, h]), reshape(k, [b, 1, s, h])));
  return reshape(matmul(reshape(features, [b * l * s, h]), reshape(w, [h, 1])), [b, l, s]);
}
