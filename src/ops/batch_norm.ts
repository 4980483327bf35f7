/**
 * BatchNorm1d in training mode (`torch.nn.BatchNorm1d` on (N, C) input, d2l §8.5): normalise each channel with
 * the batch mean and the BIASED batch variance, then scale by gamma and shift by beta. Forward and backward are
 * one kernel each (shaders/batch_norm.wgsl, batch_norm_backward.wgsl); the running statistics belong to the
 * layer (src/nn/batch_norm.ts), which updates them with {@link updateRunningStats}.
 */
import { add, mul } from './elementwise.js';
import { OpError, apply, backwardOnlyOp, type OpDef } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';

export interface BatchNormAttrs {
  eps: number;
}

/** Batch mean and biased variance per channel of x (N, C), in float64. */
function batchStats(x: ArrayLike<number>, n: number, c: number) {
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let k = 0; k < n; k++) for (let j = 0; j < c; j++) mean[j] += x[k * c + j] / n;
  for (let k = 0; k < n; k++) for (let j = 0; j < c; j++) variance[j] += (x[k * c + j] - mean[j]) ** 2 / n;
  return { mean, variance };
}

const channelCases = [
  [2, 1],
  [10, 100],
  [7, 3],
  [33, 5],
  // More rows than the 64 threads of a workgroup: each thread strides over several rows.
  [130, 3],
].map(([n, c]) => ({
  inputs: [{ shape: [n, c] }, { shape: [c] }, { shape: [c] }],
  attrs: { eps: 1e-5 },
}));

/** The plan of both ops: N rows of C channels. */
interface Channels {
  n: number;
  c: number;
}

export const batchNormOp: OpDef<BatchNormAttrs, Channels> = {
  name: 'batch_norm',
  shape([x, gamma, beta]) {
    const shapes = [x.shape, gamma.shape, beta.shape];
    if (x.shape.length !== 2)
      throw new OpError('batch_norm', 'expects x (N, C), gamma (C), beta (C)', shapes);
    const [n, c] = x.shape;
    if (gamma.shape.length !== 1 || gamma.shape[0] !== c || beta.shape.join() !== gamma.shape.join())
      throw new OpError('batch_norm', 'expects x (N, C), gamma (C), beta (C)', shapes);
    if (n < 2)
      throw new OpError('batch_norm', 'expected more than 1 value per channel when training', shapes);
    return { outputs: [{ shape: x.shape }, { shape: [c] }, { shape: [c] }], plan: { n, c } };
  },
  gpu(engine, [x, gamma, beta], [y, mean, variance], { eps }, { n, c }) {
    engine.dispatch('batch_norm', {
      bindings: { x, gamma, beta, y, mean, variance },
      params: { n, c, eps },
      groups: c,
    });
  },
  cpu([x, gamma, beta], { eps }, { n, c }) {
    const { mean, variance } = batchStats(x.data, n, c);
    const y = new Float64Array(n * c);
    for (let k = 0; k < n; k++)
      for (let j = 0; j < c; j++) {
        const i = k * c + j;
        y[i] = ((x.data[i] - mean[j]) / Math.sqrt(variance[j] + eps)) * gamma.data[j] + beta.data[j];
      }
    return [y, mean, variance];
  },
  backward({ inputs: [x, gamma], outputs: [, mean, variance], dy, attrs }) {
    return apply(batchNormBackward, [x, gamma, mean, variance, dy], attrs);
  },
  cases: channelCases,
};

export const batchNormBackward = backwardOnlyOp<BatchNormAttrs, Channels>({
  name: 'batch_norm_backward',
  shape([x, gamma, mean, variance, dy]) {
    const [n, c] = x.shape;
    if (
      x.shape.length !== 2 ||
      dy.shape.join() !== x.shape.join() ||
      [gamma, mean, variance].some((t) => t.shape.length !== 1 || t.shape[0] !== c)
    )
      throw new OpError(
        'batch_norm_backward',
        'expects x (N, C), gamma (C), mean (C), variance (C), dy (N, C)',
        [x.shape, gamma.shape, mean.shape, variance.shape, dy.shape],
      );
    return { outputs: [{ shape: x.shape }, { shape: [c] }, { shape: [c] }], plan: { n, c } };
  },
  gpu(engine, [x, gamma, mean, variance, dy], [dx, dgamma, dbeta], { eps }, { n, c }) {
    engine.dispatch('batch_norm_backward', {
      bindings: { x, gamma, mean, variance, dy, dx, dgamma, dbeta },
      params: { n, c, eps },
      groups: c,
    });
  },
  cpu([x, gamma, mean, variance, dy], { eps }, { n, c }) {
    const dx = new Float64Array(n * c);
    const dgamma = new Float64Array(c);
    const dbeta = new Float64Array(c);
    const invstd = Float64Array.from(variance.data, (s) => 1 / Math.sqrt(s + eps));
    const xhat = (i: number, j: number) => (x.data[i] - mean.data[j]) * invstd[j];
    for (let k = 0; k < n; k++)
      for (let j = 0; j < c; j++) {
        const i = k * c + j;
        dbeta[j] += dy.data[i];
        dgamma[j] += dy.data[i] * xhat(i, j);
      }
    for (let k = 0; k < n; k++)
      for (let j = 0; j < c; j++) {
        const i = k * c + j;
        dx[i] = ((gamma.data[j] * invstd[j]) / n) * (n * dy.data[i] - dbeta[j] - xhat(i, j) * dgamma[j]);
      }
    return [dx, dgamma, dbeta];
  },
});

/**
 * Training-mode batch normalisation, as `torch.nn.functional.batch_norm(x, None, None, gamma, beta,
 * training=True, eps=eps)`: y = (x − mean)/√(var + eps)·gamma + beta with per-channel batch statistics.
 * @param x (N, C) float32, N ≥ 2.
 * @param gamma (C) scale.
 * @param beta (C) shift.
 * @returns [y (N, C), mean (C), var (C)]: `var` is the BIASED batch variance (divides by N), the one used to
 *   normalise; PyTorch's running_var takes the unbiased one (see {@link updateRunningStats}). Only y is
 *   differentiable; its backward reads mean and var, so keep them alive until `backward()` has run.
 * @throws OpError when x is not (N, C), gamma or beta is not (C), or N < 2 (PyTorch: "Expected more than 1 value
 *   per channel when training").
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): [Tensor, Tensor, Tensor] {
  const [y, mean, variance] = apply(batchNormOp, [x, gamma, beta], { eps });
  return [y, mean, variance];
}

/**
 * Updates PyTorch's running estimates in place (zero-copy `assign`, no autograd) from one training batch of n rows:
 * runningMean ← (1 − momentum)·runningMean + momentum·mean,
 * runningVar ← (1 − momentum)·runningVar + momentum·var·n/(n − 1) (the unbiased variance, as `torch.nn.BatchNorm1d`).
 * @param runningMean (C), updated.
 * @param runningVar (C), updated.
 * @param mean (C), the batch mean from {@link batchNorm}.
 * @param variance (C), the biased batch variance from {@link batchNorm}.
 * @param n the batch size N ≥ 2.
 * @throws Error (from assign) when the shapes differ.
 */
export function updateRunningStats(
  runningMean: Tensor,
  runningVar: Tensor,
  mean: Tensor,
  variance: Tensor,
  n: number,
  momentum = 0.1,
): void {
  const engine = runningMean.engine;
  engine.noGrad(() =>
    // The intermediates die with the scope; the assigned results live on through the shared storage.
    engine.tidy(() => {
      runningMean.assign(add(mul(runningMean, 1 - momentum), mul(mean, momentum)));
      runningVar.assign(add(mul(runningVar, 1 - momentum), mul(variance, (momentum * n) / (n - 1))));
    }),
  );
}
