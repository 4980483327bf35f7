/**
 * Fused optimizer updates, one kernel per step of a parameter tensor: `torch.optim.SGD` (weight decay, momentum)
 * and `torch.optim.Adam` / `AdamW` (d2l §12.6, §12.10). They are functional (new p, m, v out); the optimizers in
 * src/optim swap the results into the parameters and their state with a zero-copy `assign`.
 */
import { OpError, apply, type OpDef, type OpCase, type TensorMeta } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

export interface SgdAttrs {
  lr: number;
  weightDecay: number;
  /** 0: plain SGD, inputs (p, g); > 0: heavy-ball momentum, inputs (p, g, b) and outputs (p_new, b_new). */
  momentum: number;
}

export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The step number t ≥ 1 of this update (for the bias corrections 1 − β^t). */
  step: number;
  /** AdamW: decay the weights directly (`torch.optim.AdamW`) instead of adding wd·p to the gradient. */
  decoupled: boolean;
}

/** The plan of both updates: the element count of the parameter. */
interface Flat {
  n: number;
}

function sameShapes(op: string, inputs: readonly TensorMeta[], names: string): Flat {
  const first = inputs[0].shape.join();
  if (inputs.some((t) => t.shape.join() !== first))
    throw new OpError(
      op,
      `${names} must have one shape`,
      inputs.map((t) => t.shape),
    );
  return { n: numel(inputs[0].shape) };
}

const SHAPES = [[1], [7, 13], [3, 100]];

export const sgdUpdate: OpDef<SgdAttrs, Flat> = {
  name: 'sgd_update',
  shape(inputs, { momentum }) {
    const withBuffer = momentum > 0;
    if (inputs.length !== (withBuffer ? 3 : 2))
      throw new OpError(
        'sgd_update',
        withBuffer ? 'momentum needs inputs (p, g, b)' : 'expects inputs (p, g)',
        inputs.map((t) => t.shape),
      );
    const plan = sameShapes('sgd_update', inputs, withBuffer ? 'p, g and b' : 'p and g');
    return { outputs: inputs.filter((_, i) => i !== 1).map((t) => ({ shape: t.shape })), plan };
  },
  gpu(engine, [p, g, b], [p_new, b_new], { lr, weightDecay, momentum }, { n }) {
    // The kernel always declares the momentum buffer; without momentum the engine binds unread dummies.
    engine.dispatch('sgd', {
      bindings: { p, g, b: b ?? null, p_new, b_new: b_new ?? null },
      params: { n, lr, weight_decay: weightDecay, momentum },
      constants: { MOMENTUM: momentum > 0 ? 1 : 0 },
      threads: n,
    });
  },
  cpu([p, g, b], { lr, weightDecay, momentum }, { n }) {
    const pNew = new Float64Array(n);
    const bNew = new Float64Array(n);
    for (let i = 0; i < pNew.length; i++) {
      let d = g.data[i] + weightDecay * p.data[i];
      if (momentum > 0) d = bNew[i] = momentum * b.data[i] + d;
      pNew[i] = p.data[i] - lr * d;
    }
    return momentum > 0 ? [pNew, bNew] : [pNew];
  },
  // An optimizer update is applied to the parameters, never differentiated.
  backward: null,
  cases: [
    ...SHAPES.map((shape) => ({
      inputs: [{ shape }, { shape }],
      attrs: { lr: 0.1, weightDecay: 0, momentum: 0 },
    })),
    { inputs: [{ shape: [5, 3] }, { shape: [5, 3] }], attrs: { lr: 0.1, weightDecay: 0.5, momentum: 0 } },
    {
      inputs: [{ shape: [7, 13] }, { shape: [7, 13] }, { shape: [7, 13] }],
      attrs: { lr: 0.05, weightDecay: 0.3, momentum: 0.9 },
    },
  ],
};

const adamCases: OpCase<AdamAttrs>[] = SHAPES.flatMap((shape) =>
  [
    { step: 1, weightDecay: 0, decoupled: false },
    { step: 7, weightDecay: 0.5, decoupled: false },
    { step: 3, weightDecay: 0.5, decoupled: true },
  ].map((a) => ({
    name: a.decoupled ? 'adamw' : 'adam',
    inputs: [{ shape }, { shape }, { shape }, { shape, fill: 'positive' as const }],
    attrs: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...a },
  })),
);

export const adamUpdate: OpDef<AdamAttrs, Flat> = {
  name: 'adam_update',
  shape(inputs, { step }) {
    if (inputs.length !== 4)
      throw new OpError(
        'adam_update',
        'expects inputs (p, g, m, v)',
        inputs.map((t) => t.shape),
      );
    const plan = sameShapes('adam_update', inputs, 'p, g, m and v');
    if (!(Number.isInteger(step) && step >= 1))
      throw new OpError(
        'adam_update',
        `step must be an integer >= 1, got ${step}`,
        inputs.map((t) => t.shape),
      );
    const [p] = inputs;
    return { outputs: [{ shape: p.shape }, { shape: p.shape }, { shape: p.shape }], plan };
  },
  gpu(engine, [p, g, m, v], [p_new, m_new, v_new], attrs, { n }) {
    const { lr, beta1, beta2, eps, weightDecay, step, decoupled } = attrs;
    const at = (t: number) => ({
      n,
      lr,
      weight_decay: weightDecay,
      beta1,
      beta2,
      eps,
      // Bias corrections in float64 here: β2^t is within float32 rounding of 1 for small t.
      step_size: lr / (1 - beta1 ** t),
      bc2_sqrt: Math.sqrt(1 - beta2 ** t),
    });
    engine.dispatch('adam', {
      bindings: { p, g, m, v, p_new, m_new, v_new },
      params: at(step),
      // A captured training step (src/runtime/capture.ts) re-writes the bias corrections for each replay's t.
      stepParams: { step, at },
      constants: { DECOUPLED: decoupled ? 1 : 0 },
      threads: n,
    });
  },
  cpu([p, g, m, v], { lr, beta1, beta2, eps, weightDecay, step, decoupled }, { n }) {
    const [pNew, mNew, vNew] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < n; i++) {
      let w = p.data[i];
      let grad = g.data[i];
      if (decoupled) w *= 1 - lr * weightDecay;
      else grad += weightDecay * w;
      mNew[i] = beta1 * m.data[i] + (1 - beta1) * grad;
      vNew[i] = beta2 * v.data[i] + (1 - beta2) * grad * grad;
      const mHat = mNew[i] / (1 - beta1 ** step);
      const vHat = vNew[i] / (1 - beta2 ** step);
      pNew[i] = w - (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
    return [pNew, mNew, vNew];
  },
  // An optimizer update is applied to the parameters, never differentiated.
  backward: null,
  cases: adamCases,
};

/**
 * One SGD update of a parameter, as `torch.optim.SGD` (dampening 0, no Nesterov).
 * @param p the parameter (any shape).
 * @param g its gradient (p's shape).
 * @param b the momentum buffer (p's shape), required when `momentum > 0`, else null.
 * @returns [p_new] or, with momentum, [p_new, b_new].
 * @throws OpError when the shapes differ or the buffer is missing.
 */
export function sgdStep(p: Tensor, g: Tensor, b: Tensor | null, attrs: SgdAttrs): Tensor[] {
  return apply(sgdUpdate, b ? [p, g, b] : [p, g], attrs);
}

/**
 * One Adam (or AdamW, `decoupled`) update of a parameter, as `torch.optim.Adam` / `torch.optim.AdamW`.
 * @param p the parameter (any shape).
 * @param g its gradient (p's shape).
 * @param m the first moment estimate (p's shape).
 * @param v the second moment estimate (p's shape).
 * @returns [p_new, m_new, v_new].
 * @throws OpError when the shapes differ or `step` is not an integer ≥ 1.
 */
export function adamStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, attrs: AdamAttrs): Tensor[] {
  return apply(adamUpdate, [p, g, m, v], attrs);
}
