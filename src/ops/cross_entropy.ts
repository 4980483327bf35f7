/**
 * Cross-entropy of logits against integer class labels (`torch.nn.functional.cross_entropy`, d2l §4.1): the
 * log-softmax is fused into one per-sample kernel (shaders/cross_entropy.wgsl) with its own backward kernel
 * (cross_entropy_backward.wgsl); 'mean' and 'sum' reductions are composed from reduce.ts on top.
 */
import { OpError, apply, type OpDef, type TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { grid } from './grid.js';
import { mean, sum } from './reduce.js';

export type CrossEntropyAttrs = Record<string, never>;
export type Reduction = 'none' | 'mean' | 'sum';

/** Checks x (N, C) float32 with C ≥ 1 and labels (N) int32; returns N and C. */
function check(op: string, x: TensorMeta, labels: TensorMeta, extra: TensorMeta[] = []): [number, number] {
  const shapes = [x.shape, labels.shape, ...extra.map((t) => t.shape)];
  if (x.shape.length !== 2 || x.shape[1] < 1 || labels.shape.length !== 1 || labels.shape[0] !== x.shape[0])
    throw new OpError(op, 'expects logits (N, C) with C >= 1 and labels (N)', shapes);
  if (x.dtype !== 'float32') throw new OpError(op, `logits must be float32, got ${x.dtype}`, shapes);
  if (labels.dtype !== 'int32')
    throw new OpError(
      op,
      `labels must be an int32 tensor, got ${labels.dtype} (upload with dtype 'int32')`,
      shapes,
    );
  return [x.shape[0], x.shape[1]];
}

/** The label as the kernels read it: clamped into [0, C) so no read goes out of bounds. */
function clampLabel(t: number, c: number): number {
  return Math.min(Math.max(t, 0), c - 1);
}

/** log Σ_c exp(x[row, c]) in float64, shifted by the row maximum. */
function logSumExp(x: ArrayLike<number>, row: number, c: number): number {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, x[row * c + k]);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(x[row * c + k] - m);
  return m + Math.log(s);
}

export const crossEntropyOp: OpDef<CrossEntropyAttrs> = {
  name: 'cross_entropy',
  shape([x, labels]) {
    const [n] = check('cross_entropy', x, labels);
    return [{ shape: [n] }];
  },
  gpu(engine, [x, labels], [loss]) {
    const [n, c] = x.shape;
    engine.dispatch('cross_entropy', {
      bindings: { x, labels, loss },
      params: { n, c },
      workgroups: grid(n, 1),
    });
  },
  cpu([x, labels]) {
    const [n, c] = x.shape;
    return [
      Float64Array.from({ length: n }, (_, i) => {
        const t = clampLabel(labels.data[i], c);
        return logSumExp(x.data, i, c) - x.data[i * c + t];
      }),
    ];
  },
  backward({ inputs: [x, labels], dy }) {
    // Labels are class indices: no gradient.
    return [apply(crossEntropyBackward, [x, labels, dy], {})[0], null];
  },
  cases: [
    { inputs: [{ shape: [1, 1] }, { shape: [1], dtype: 'int32', fill: { int: 1 } }], attrs: {} },
    { inputs: [{ shape: [4, 26] }, { shape: [4], dtype: 'int32', fill: { int: 26 } }], attrs: {} },
    { inputs: [{ shape: [7, 3] }, { shape: [7], dtype: 'int32', fill: { int: 3 } }], attrs: {} },
    { inputs: [{ shape: [3, 129] }, { shape: [3], dtype: 'int32', fill: { int: 129 } }], attrs: {} },
    {
      inputs: [{ shape: [250, 26] }, { shape: [250], dtype: 'int32', fill: { int: 26 } }],
      attrs: {},
      noGradCheck: true,
    },
  ],
};

export const crossEntropyBackward: OpDef<CrossEntropyAttrs> = {
  name: 'cross_entropy_backward',
  shape([x, labels, dloss]) {
    check('cross_entropy_backward', x, labels, [dloss]);
    if (dloss.shape.length !== 1 || dloss.shape[0] !== x.shape[0])
      throw new OpError('cross_entropy_backward', 'expects dloss (N)', [x.shape, labels.shape, dloss.shape]);
    return [{ shape: x.shape }];
  },
  gpu(engine, [x, labels, dloss], [dx]) {
    const [n, c] = x.shape;
    engine.dispatch('cross_entropy_backward', {
      bindings: { x, labels, dloss, dx },
      params: { n, c },
      workgroups: grid(n, 1),
    });
  },
  cpu([x, labels, dloss]) {
    const [n, c] = x.shape;
    const dx = new Float64Array(n * c);
    for (let i = 0; i < n; i++) {
      const lse = logSumExp(x.data, i, c);
      const t = clampLabel(labels.data[i], c);
      for (let k = 0; k < c; k++)
        dx[i * c + k] = (Math.exp(x.data[i * c + k] - lse) - (k === t ? 1 : 0)) * dloss.data[i];
    }
    return [dx];
  },
  // Second derivatives are not needed by any model here.
  backward: null,
  cases: [],
};

/**
 * Cross-entropy loss of logits against class labels, as `torch.nn.functional.cross_entropy(logits, labels,
 * reduction=reduction)`: loss_i = logsumexp_c(logits_i) − logits_i[labels_i], with the log-softmax fused
 * and shifted by the row maximum so large logits do not overflow.
 * @param logits (N, C) float32 unnormalised scores.
 * @param labels (N) int32 class indices in [0, C). Values are NOT checked (that would need a readback): the
 *   kernels clamp an out-of-range label into [0, C) so they never read out of bounds, and the loss and
 *   gradient of such a sample are those of the clamped class, i.e. meaningless (PyTorch raises instead).
 * @param reduction 'none' → (N) per-sample losses; 'mean' (default) → shape [] mean; 'sum' → shape [] sum.
 * @returns the loss; its backward gives dlogits = (softmax(logits) − onehot(labels)) · dloss_i (the
 *   'mean' reduction divides dloss by N).
 * @throws OpError naming `cross_entropy` and both shapes when logits are not (N, C) float32 with C ≥ 1 or
 *   labels are not (N) int32; Error for an unknown reduction.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum')
    throw new Error(`cross_entropy: reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  const loss = apply(crossEntropyOp, [logits, labels], {})[0];
  if (reduction === 'none') return loss;
  const reduced = reduction === 'mean' ? mean(loss) : sum(loss);
  // The per-sample losses stay alive on the tape when gradients are recorded (the scope frees them then).
  if (!reduced.creator) loss.dispose();
  return reduced;
}
