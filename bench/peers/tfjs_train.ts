/**
 * What every TF.js training-step peer shares: the weights as `tf.Variable`s under our PyTorch state_dict names,
 * the layers the d2l models are built from (Linear, LayerNorm, the GRU cell), d2l's `MaskedSoftmaxCELoss`, and
 * one step as d2l's `train_seq2seq` writes it: loss, gradients (`tf.variableGrads`), `clip_grad_norm_` with
 * PyTorch's formula, then the optimizer.
 */
import type { NamedTensorMap, Optimizer, Tensor as TfTensor, Variable } from '@tensorflow/tfjs-core';
import type { TF } from '../harness/types.js';

/** Parameters by state_dict name (`encoder.rnn.weight_ih_l0`, …). */
export type TfParams = Map<string, Variable>;

/** One parameter. @throws Error naming the missing state_dict entry. */
export function param(p: TfParams, name: string): Variable {
  const v = p.get(name);
  if (!v) throw new Error(`TF.js peer: no parameter "${name}"`);
  return v;
}

/**
 * Trainable variables with the given values and shapes, keyed by state_dict name. TF.js names variables globally,
 * so they keep TF.js's automatic names; gradients are matched back through {@link trainStep}.
 */
export function tfVariables(
  tf: TF,
  state: Record<string, { values: Float32Array; shape: number[] }>,
): TfParams {
  return new Map(
    Object.entries(state).map(([name, { values, shape }]) => {
      // A variable shares its initial tensor's data; that handle is not needed afterwards.
      const initial = tf.tensor(values, shape);
      const v = tf.variable(initial);
      initial.dispose();
      return [name, v];
    }),
  );
}

/** Overwrites every variable with the state dict's values (same names and shapes). */
export function assignVariables(tf: TF, p: TfParams, state: Record<string, { values: Float32Array }>): void {
  // assign takes over the new tensor's data; tidy frees the handle.
  tf.tidy(() => {
    for (const [name, v] of p) v.assign(tf.tensor(state[name].values, v.shape));
  });
}

/** `nn.Linear`: x (…, I) · Wᵀ + b with W (O, I), as PyTorch stores it. */
export function tfLinear(tf: TF, x: TfTensor, w: TfTensor, b?: TfTensor): TfTensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.matMul(tf.reshape(x, [-1, x.shape.at(-1)!]), w, false, true);
  return tf.reshape(b ? tf.add(y, b) : y, [...lead, w.shape[0]]);
}

/** `nn.LayerNorm(D)` over the last dim: biased variance, eps 1e-5. */
export function tfLayerNorm(tf: TF, x: TfTensor, weight: TfTensor, bias: TfTensor, eps = 1e-5): TfTensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), weight), bias);
}

/**
 * One step of PyTorch's multi-layer `nn.GRU` cell (gate blocks r, z, n): gi = x·W_ihᵀ + b_ih, gh = h·W_hhᵀ + b_hh,
 * r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n), h' = (1 − z)·n + z·h. gi (B, 3H), h (B, H).
 */
export function tfGruCell(tf: TF, gi: TfTensor, h: TfTensor, whh: TfTensor, bhh: TfTensor): TfTensor {
  const gh = tf.add(tf.matMul(h, whh, false, true), bhh);
  const [ir, iz, inn] = tf.split(gi, 3, 1);
  const [hr, hz, hn] = tf.split(gh, 3, 1);
  const r = tf.sigmoid(tf.add(ir, hr));
  const z = tf.sigmoid(tf.add(iz, hz));
  const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
  return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
}

/**
 * d2l's `MaskedSoftmaxCELoss(...).sum()`: cross-entropy per position, times the (B, T) float mask t < validLen[b],
 * averaged over the T positions of each sequence, summed over the batch. logits (B, T, V); labels (B, T) int32.
 */
export function tfMaskedCELossSum(tf: TF, logits: TfTensor, labels: TfTensor, mask: TfTensor): TfTensor {
  const [, t, v] = logits.shape as number[];
  const logp = tf.logSoftmax(logits, -1);
  const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(labels, v, 1, 0, 'float32'), logp), -1));
  return tf.div(tf.sum(tf.mul(ce, mask)), t);
}

/** How {@link trainStep} treats the gradients before the optimizer sees them. */
export interface StepOptions {
  /** Global L2-norm clip, `torch.nn.utils.clip_grad_norm_` (as our `clipGradNorm`). */
  maxNorm?: number;
  /** L2 penalty added to each gradient after clipping, g + weightDecay·p (`torch.optim.Adam(weight_decay=…)`). */
  weightDecay?: number;
}

/**
 * One training step: gradients of `loss` with respect to every parameter, rescaled by
 * min(1, maxNorm / (‖g‖ + 1e-6)) when `maxNorm` is given, plus weightDecay·p when given, applied by `optimizer`.
 * Call inside `tf.tidy`. @returns the scalar loss before the update and the gradients the optimizer applied
 *   (clipped, before weight decay), by state_dict name.
 */
export function trainStep(
  tf: TF,
  p: TfParams,
  optimizer: Optimizer,
  loss: () => TfTensor,
  { maxNorm, weightDecay }: StepOptions = {},
): { loss: TfTensor; grads: NamedTensorMap } {
  const vars = [...p.values()];
  const { value, grads } = tf.variableGrads(loss as () => ReturnType<TF['scalar']>, vars);
  let scaled: NamedTensorMap = grads;
  if (maxNorm !== undefined) {
    // Pairwise adds, not tf.addN: the WebGPU backend's AddN binds one buffer per input, and past the adapter's
    // maxStorageBuffersPerShaderStage (8 on lavapipe) its pipeline fails validation.
    const total = tf.sqrt(
      Object.values(grads)
        .map((g) => tf.sum(tf.square(g)))
        .reduce((a, b) => tf.add(a, b)),
    );
    const coef = tf.minimum(tf.div(maxNorm, tf.add(total, 1e-6)), 1);
    scaled = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, coef)]));
  }
  const clipped = scaled;
  if (weightDecay) {
    const byName = new Map(vars.map((v) => [v.name, v]));
    scaled = Object.fromEntries(
      Object.entries(scaled).map(([k, g]) => [k, tf.add(g, tf.mul(byName.get(k)!, weightDecay))]),
    );
  }
  optimizer.applyGradients(scaled);
  const names = new Map([...p].map(([name, v]) => [v.name, name]));
  return {
    loss: value,
    grads: Object.fromEntries(Object.entries(clipped).map(([k, g]) => [names.get(k)!, g])),
  };
}

/** Every parameter's values, by state_dict name. */
export async function readVariables(p: TfParams): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of p) out[name] = (await v.data()) as Float32Array;
  return out;
}

/** Frees the variables. */
export function disposeVariables(p: TfParams): void {
  for (const v of p.values()) v.dispose();
}
