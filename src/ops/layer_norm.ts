/**
 * Layer normalisation over the last dim (`torch.nn.functional.layer_norm(x, (D,), weight, bias, eps)`, d2l §11.7):
 * each row is normalised with its own mean and BIASED variance, then scaled and shifted per feature. One fused
 * kernel each way (shaders/layer_norm.wgsl, layer_norm_backward.wgsl); the forward saves the row mean and
 * 1/√(var + eps) for the backward, as PyTorch's native_layer_norm does.
 */
import { OpError, apply, backwardOnlyOp, type OpCase, type OpDef } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';

export interface LayerNormAttrs {
  eps: number;
}

/** Must match COLS in layer_norm_backward.wgsl (its default): columns per workgroup in the column pass. */
const COLS = 8;

/** (N, D) of x viewed as rows of its last dim; throws unless weight and bias are (D). */
function rowsOf(op: string, x: readonly number[], weight: readonly number[], bias: readonly number[]) {
  const d = x.at(-1);
  if (d === undefined || weight.length !== 1 || weight[0] !== d || bias.join() !== weight.join())
    throw new OpError(op, 'expects x (…, D), weight (D), bias (D)', [x, weight, bias]);
  return { n: x.slice(0, -1).reduce((a, v) => a * v, 1), d };
}

/** The plan of both ops: N rows of D features. */
type Rows = ReturnType<typeof rowsOf>;

/** Row means, reciprocal standard deviations and y in float64: the CPU twin of layer_norm.wgsl. */
function rowStats(x: ArrayLike<number>, n: number, d: number, eps: number) {
  const mean = new Float64Array(n);
  const rstd = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[r * d + k];
    const mu = s / d;
    let v = 0;
    for (let k = 0; k < d; k++) v += (x[r * d + k] - mu) ** 2;
    mean[r] = mu;
    rstd[r] = 1 / Math.sqrt(v / d + eps);
  }
  return { mean, rstd };
}

const cases: OpCase<LayerNormAttrs>[] = [
  [3, 1],
  [1, 7],
  [4, 129],
  [2, 3, 5],
  // More rows than the 8 lanes of the column pass and more columns than its 8 per workgroup.
  [70, 11],
].map((shape) => {
  const d = shape.at(-1)!;
  return { inputs: [{ shape }, { shape: [d] }, { shape: [d] }], attrs: { eps: 1e-5 } };
});

export const layerNormOp: OpDef<LayerNormAttrs, Rows> = {
  name: 'layer_norm',
  shape([x, weight, bias]) {
    const plan = rowsOf('layer_norm', x.shape, weight.shape, bias.shape);
    return { outputs: [{ shape: x.shape }, { shape: [plan.n] }, { shape: [plan.n] }], plan };
  },
  gpu(engine, [x, weight, bias], [y, mean, rstd], { eps }, { n, d }) {
    engine.dispatch('layer_norm', {
      bindings: { x, weight, bias, y, mean, rstd },
      params: { rows: n, d, eps },
      groups: n,
    });
  },
  cpu([x, weight, bias], { eps }, { n, d }) {
    const { mean, rstd } = rowStats(x.data, n, d, eps);
    const y = new Float64Array(n * d);
    for (let r = 0; r < n; r++)
      for (let k = 0; k < d; k++)
        y[r * d + k] = (x.data[r * d + k] - mean[r]) * rstd[r] * weight.data[k] + bias.data[k];
    return [y, mean, rstd];
  },
  backward({ inputs: [x, weight], outputs: [, mean, rstd], dy }) {
    return apply(layerNormBackward, [x, weight, mean, rstd, dy], {});
  },
  cases,
};

export const layerNormBackward = backwardOnlyOp<Record<string, never>, Rows>({
  name: 'layer_norm_backward',
  shape([x, weight, mean, rstd, dy]) {
    const shapes = [x.shape, weight.shape, mean.shape, rstd.shape, dy.shape];
    const plan = rowsOf('layer_norm_backward', x.shape, weight.shape, weight.shape);
    const { n } = plan;
    if (dy.shape.join() !== x.shape.join() || mean.shape.join() !== `${n}` || rstd.shape.join() !== `${n}`)
      throw new OpError(
        'layer_norm_backward',
        'expects x (…, D), weight (D), mean (N), rstd (N), dy (…, D)',
        shapes,
      );
    return { outputs: [{ shape: x.shape }, { shape: weight.shape }, { shape: weight.shape }], plan };
  },
  gpu(engine, [x, weight, mean, rstd, dy], [dx, dweight, dbias], _attrs, { n, d }) {
    const bindings = { x, weight, mean, rstd, dy, dx, dweight, dbias };
    engine.dispatch('layer_norm_backward', {
      bindings,
      params: { rows: n, d },
      constants: { PASS: 0 },
      groups: n,
    });
    engine.dispatch('layer_norm_backward', {
      bindings,
      params: { rows: n, d },
      constants: { PASS: 1 },
      groups: Math.ceil(d / COLS),
    });
  },
  cpu([x, weight, mean, rstd, dy], _attrs, { n, d }) {
    const dx = new Float64Array(n * d);
    const dweight = new Float64Array(d);
    const dbias = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      let sumG = 0;
      let sumGx = 0;
      const xhat = (k: number) => (x.data[r * d + k] - mean.data[r]) * rstd.data[r];
      for (let k = 0; k < d; k++) {
        const e = dy.data[r * d + k];
        sumG += e * weight.data[k];
        sumGx += e * weight.data[k] * xhat(k);
        dweight[k] += e * xhat(k);
        dbias[k] += e;
      }
      for (let k = 0; k < d; k++)
        dx[r * d + k] =
          (rstd.data[r] / d) * (d * dy.data[r * d + k] * weight.data[k] - sumG - xhat(k) * sumGx);
    }
    return [dx, dweight, dbias];
  },
});

/**
 * Layer normalisation over the last dim, as `torch.nn.functional.layer_norm(x, (D,), weight, bias, eps)`:
 * y = (x − mean)/√(var + eps)·weight + bias with the mean and the BIASED variance (÷D) of each row. D = 1 is
 * allowed (var = 0, so y = bias).
 * @param x (…, D) float32, rank ≥ 1.
 * @param weight (D) scale.
 * @param bias (D) shift.
 * @returns y (…, D). Differentiable in x, weight and bias.
 * @throws OpError naming `layer_norm` and the shapes when weight or bias is not (D).
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  return apply(layerNormOp, [x, weight, bias], { eps })[0];
}
