/**
 * Cross-entropy of logits against integer class labels (`torch.nn.functional.cross_entropy`, d2l §4.1): the
 * log-softmax is fused into one per-sample kernel (shaders/cross_entropy.wgsl) with its own backward kernel
 * (cross_entropy_backward.wgsl); 'mean' and 'sum' reductions are composed from reduce.ts on top. Labels equal to
 * `ignoreIndex` (PyTorch's −100 by default) contribute nothing, and 'mean' divides by the labels not ignored.
 */
import { OpError, apply, backwardOnlyOp, type OpDef, type TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { div, mul } from './elementwise.js';
import { checkRange } from './int_checks.js';
import { mean, sum } from './reduce.js';

/** PyTorch's default `ignore_index`. */
export const IGNORE_INDEX = -100;

export interface CrossEntropyAttrs {
  /** Label value whose rows get loss 0, weight 0 and gradient 0. */
  ignoreIndex: number;
}
export type Reduction = 'none' | 'mean' | 'sum';

export interface CrossEntropyOptions {
  /** 'mean' (default), 'sum' or 'none', as PyTorch's `reduction`. */
  reduction?: Reduction;
  /** Labels equal to it are ignored, as PyTorch's `ignore_index`; default −100. */
  ignoreIndex?: number;
}

/** The plan: N rows of C classes. */
interface Rows {
  n: number;
  c: number;
}

/** Checks x (N, C) float32 with C ≥ 1 and labels (N) int32; returns N and C. */
function check(op: string, x: TensorMeta, labels: TensorMeta, extra: TensorMeta[] = []): Rows {
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
  return { n: x.shape[0], c: x.shape[1] };
}

/** log Σ_c exp(x[row, c]) in float64, shifted by the row maximum. */
function logSumExp(x: ArrayLike<number>, row: number, c: number): number {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, x[row * c + k]);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(x[row * c + k] - m);
  return m + Math.log(s);
}

const DEFAULT: CrossEntropyAttrs = { ignoreIndex: IGNORE_INDEX };

/**
 * Outputs loss (N) and weight (N): 1 for a counted row, 0 for an ignored one (Σ weight is the 'mean' divisor).
 * Labels the host holds are checked here; others by the kernel's device-side check.
 */
export const crossEntropyOp: OpDef<CrossEntropyAttrs, Rows> = {
  name: 'cross_entropy',
  shape([x, labels], { ignoreIndex }) {
    const plan = check('cross_entropy', x, labels);
    checkRange('cross_entropy', 'label', labels, plan.c, [x.shape, labels.shape], ignoreIndex);
    return { outputs: [{ shape: [plan.n] }, { shape: [plan.n] }], plan };
  },
  gpu(engine, [x, labels], [loss, weight], { ignoreIndex }, { n, c }) {
    engine.dispatch('cross_entropy', {
      bindings: { x, labels, loss, weight },
      params: { n, c, ignore: ignoreIndex },
      groups: n,
    });
  },
  cpu([x, labels], { ignoreIndex }, { n, c }) {
    const ignored = (i: number) => labels.data[i] === ignoreIndex;
    return [
      Float64Array.from({ length: n }, (_, i) =>
        ignored(i) ? 0 : logSumExp(x.data, i, c) - x.data[i * c + labels.data[i]],
      ),
      Float64Array.from({ length: n }, (_, i) => (ignored(i) ? 0 : 1)),
    ];
  },
  backward({ inputs: [x, labels], dy, attrs }) {
    // Labels are class indices: no gradient.
    return [apply(crossEntropyBackward, [x, labels, dy], attrs)[0], null];
  },
  cases: [
    { inputs: [{ shape: [1, 1] }, { shape: [1], dtype: 'int32', fill: { int: 1 } }], attrs: DEFAULT },
    { inputs: [{ shape: [4, 26] }, { shape: [4], dtype: 'int32', fill: { int: 26 } }], attrs: DEFAULT },
    { inputs: [{ shape: [7, 3] }, { shape: [7], dtype: 'int32', fill: { int: 3 } }], attrs: DEFAULT },
    { inputs: [{ shape: [3, 129] }, { shape: [3], dtype: 'int32', fill: { int: 129 } }], attrs: DEFAULT },
    {
      inputs: [{ shape: [250, 26] }, { shape: [250], dtype: 'int32', fill: { int: 26 } }],
      attrs: DEFAULT,
      noGradCheck: true,
    },
    {
      name: 'ignoreIndex -100 rows get loss 0 and no gradient',
      inputs: [{ shape: [5, 4] }, { shape: [5], dtype: 'int32', fill: { values: [0, -100, 3, -100, 1] } }],
      attrs: DEFAULT,
    },
    {
      name: 'an ignoreIndex inside [0, C)',
      inputs: [{ shape: [4, 3] }, { shape: [4], dtype: 'int32', fill: { values: [2, 1, 0, 1] } }],
      attrs: { ignoreIndex: 1 },
    },
  ],
};

export const crossEntropyBackward = backwardOnlyOp<CrossEntropyAttrs, Rows>({
  name: 'cross_entropy_backward',
  // Labels were range-checked by the forward op.
  shape([x, labels, dloss]) {
    const plan = check('cross_entropy_backward', x, labels, [dloss]);
    if (dloss.shape.length !== 1 || dloss.shape[0] !== x.shape[0])
      throw new OpError('cross_entropy_backward', 'expects dloss (N)', [x.shape, labels.shape, dloss.shape]);
    return { outputs: [{ shape: x.shape }], plan };
  },
  gpu(engine, [x, labels, dloss], [dx], { ignoreIndex }, { n, c }) {
    engine.dispatch('cross_entropy_backward', {
      bindings: { x, labels, dloss, dx },
      params: { n, c, ignore: ignoreIndex },
      groups: n,
    });
  },
  cpu([x, labels, dloss], { ignoreIndex }, { n, c }) {
    const dx = new Float64Array(n * c);
    for (let i = 0; i < n; i++) {
      const t = labels.data[i];
      if (t === ignoreIndex) continue;
      const lse = logSumExp(x.data, i, c);
      for (let k = 0; k < c; k++)
        dx[i * c + k] = (Math.exp(x.data[i * c + k] - lse) - (k === t ? 1 : 0)) * dloss.data[i];
    }
    return [dx];
  },
});

/**
 * Cross-entropy loss of logits against class labels, as `torch.nn.functional.cross_entropy(logits, labels,
 * reduction=…, ignore_index=…)`: loss_i = logsumexp_c(logits_i) − logits_i[labels_i], with the log-softmax fused
 * and shifted by the row maximum so large logits do not overflow. Rows whose label is `ignoreIndex` get loss 0 and
 * zero gradient, and 'mean' averages over the other rows only (NaN when every row is ignored, as in PyTorch).
 * @param logits (N, C) float32 unnormalised scores.
 * @param labels (N) int32 class indices in [0, C), or `ignoreIndex`.
 * @param options a reduction ('none' → (N) per-sample losses; 'mean' (default) → shape [] mean; 'sum' → shape []
 *   sum), or `{ reduction?, ignoreIndex? }` (ignoreIndex default −100, PyTorch's).
 * @returns the loss; its backward gives dlogits = (softmax(logits) − onehot(labels)) · dloss_i (the 'mean'
 *   reduction divides dloss by the number of rows not ignored).
 * @throws OpError naming `cross_entropy` and both shapes when logits are not (N, C) float32 with C ≥ 1 or labels
 *   are not (N) int32; OpError naming the label and its row when a label the host holds (any CPU tensor, a
 *   `tensor()` / `fromArray` upload on WebGPU) is outside [0, C) and not ignoreIndex — a label that only the GPU
 *   holds is checked by the kernel and raised as the same OpError at the next readback or `sync()`, as PyTorch's
 *   CUDA assert is; Error for an unknown reduction or an ignoreIndex that is not an int32 integer.
 */
export function crossEntropy(
  logits: Tensor,
  labels: Tensor,
  options: Reduction | CrossEntropyOptions = 'mean',
): Tensor {
  const { reduction = 'mean', ignoreIndex = IGNORE_INDEX } =
    typeof options === 'string' ? { reduction: options } : options;
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum')
    throw new Error(`cross_entropy: reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  if (!Number.isInteger(ignoreIndex) || Math.abs(ignoreIndex) > 2 ** 31 - 1)
    throw new Error(`cross_entropy: ignoreIndex must be an int32 integer, got ${ignoreIndex}`);
  const [loss, weight] = apply(crossEntropyOp, [logits, labels], { ignoreIndex });
  if (reduction === 'none') {
    weight.dispose();
    return loss;
  }
  let reduced: Tensor;
  if (reduction === 'sum') reduced = sum(loss);
  else {
    const host = labels.hostInts();
    let counted = host ? 0 : -1;
    if (host) for (const t of host) if (t !== ignoreIndex) counted++;
    if (counted === loss.numel()) reduced = mean(loss);
    else if (counted >= 0) reduced = mul(sum(loss), 1 / counted);
    else {
      // Labels only the GPU holds: count the rows kept there, no readback.
      const total = sum(weight);
      reduced = div(sum(loss), total);
      if (!reduced.creator) total.dispose();
    }
  }
  weight.dispose();
  // The per-sample losses stay alive on the tape when gradients are recorded (the scope frees them then).
  if (!reduced.creator) loss.dispose();
  return reduced;
}
