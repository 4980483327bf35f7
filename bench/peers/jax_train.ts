/**
 * A training step in jax-js, as the TF.js peer's `trainStep` does it: loss and gradients (`valueAndGrad`),
 * `clip_grad_norm_` when the model's trainer clips, L2 weight decay added to the gradients, then PyTorch's Adam
 * or SGD update, the whole step under one `jit`. The parameters and optimizer moments live in jax-js arrays that
 * each step consumes and replaces.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import type { Jax } from '../harness/types.js';

/** Parameters (or their gradients, or an optimizer moment) by state_dict name. */
export type JaxParams = Record<string, JaxArray>;

/** `torch.optim.Adam` (betas 0.9, 0.999, eps 1e-8) or plain SGD. */
export type JaxOptimizer = { kind: 'adam'; lr: number } | { kind: 'sgd'; lr: number };

/** A model's training loss in jax-js and its batch. */
export interface JaxPeerStep {
  /** The batch, built once. */
  inputs: JaxArray[];
  /** The scalar loss; consumes `p` and `inputs`. */
  loss(p: JaxParams, inputs: JaxArray[]): JaxArray;
  optimizer: JaxOptimizer;
  dispose(): void;
}

/** What the step carries from one call to the next. */
export interface JaxTrainState {
  params: JaxParams;
  m: JaxParams;
  v: JaxParams;
  /** Steps taken (Adam's bias correction). */
  t: number;
}

export interface JaxStepResult {
  loss: JaxArray;
  /** After clipping, before weight decay: what the TF.js peer's `trainStep` returns too. */
  grads: JaxParams;
  state: JaxTrainState;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** Fresh state: the given weights, zero moments. */
export function jaxTrainState(
  jax: Jax,
  weights: Record<string, { values: Float32Array; shape: number[] }>,
): JaxTrainState {
  const np = jax.numpy;
  const each = (f: (w: { values: Float32Array; shape: number[] }) => JaxArray) =>
    Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, f(w)]));
  return {
    params: each((w) => np.array(w.values, { shape: w.shape })),
    m: each((w) => np.zeros(w.shape)),
    v: each((w) => np.zeros(w.shape)),
    t: 0,
  };
}

/** Frees a state's arrays. */
export function disposeTrainState(jax: Jax, s: JaxTrainState): void {
  jax.tree.dispose([s.params, s.m, s.v]);
}

/**
 * The jitted step. @param maxNorm global gradient-norm clip; @param weightDecay L2 penalty added to each gradient.
 * @returns a function that consumes the state (and new references to the inputs) and returns the next one.
 */
export function jaxTrainStep(
  jax: Jax,
  peer: JaxPeerStep,
  { maxNorm, weightDecay = 0 }: { maxNorm?: number; weightDecay?: number },
) {
  const np = jax.numpy;
  const { optimizer } = peer;
  const step = jax.jit(
    (params: JaxParams, m: JaxParams, v: JaxParams, c1: JaxArray, c2: JaxArray, ...inputs: JaxArray[]) => {
      const names = Object.keys(params);
      const [loss, raw] = jax.valueAndGrad((p: JaxParams) => peer.loss(p, inputs))(jax.tree.ref(params)) as [
        JaxArray,
        JaxParams,
      ];
      let grads = raw;
      if (maxNorm !== undefined) {
        const total = np.sqrt(names.map((n) => np.sum(np.square(grads[n].ref))).reduce((a, b) => a.add(b)));
        const coef = np.minimum(np.array(maxNorm).div(total.add(1e-6)), 1);
        grads = Object.fromEntries(names.map((n) => [n, grads[n].mul(coef.ref)]));
        coef.dispose();
      }
      const next: JaxParams = {};
      const nextM: JaxParams = {};
      const nextV: JaxParams = {};
      for (const n of names) {
        const p = params[n];
        const g = weightDecay ? grads[n].ref.add(p.ref.mul(weightDecay)) : grads[n].ref;
        if (optimizer.kind === 'sgd') {
          next[n] = p.sub(g.mul(optimizer.lr));
          nextM[n] = m[n];
          nextV[n] = v[n];
          continue;
        }
        nextM[n] = m[n].mul(BETA1).add(g.ref.mul(1 - BETA1));
        nextV[n] = v[n].mul(BETA2).add(np.square(g).mul(1 - BETA2));
        const mHat = nextM[n].ref.mul(c1.ref);
        const vHat = nextV[n].ref.mul(c2.ref);
        next[n] = p.sub(mHat.mul(optimizer.lr).div(np.sqrt(vHat).add(EPS)));
      }
      c1.dispose();
      c2.dispose();
      return { loss, grads, params: next, m: nextM, v: nextV };
    },
  );
  return {
    call(s: JaxTrainState): JaxStepResult {
      const t = s.t + 1;
      const out = step(
        s.params,
        s.m,
        s.v,
        np.array(1 / (1 - BETA1 ** t)),
        np.array(1 / (1 - BETA2 ** t)),
        ...peer.inputs.map((x) => x.ref),
      );
      return { loss: out.loss, grads: out.grads, state: { params: out.params, m: out.m, v: out.v, t } };
    },
    dispose: () => step.dispose(),
  };
}
