/**
 * The jax-js side of a training-step case: its jitted step (bench/peers/jax_train.ts) from our initial weights,
 * timed like the TF.js step, and validated as the TF.js step is, after it: from the weights ours and TF.js were
 * checked on, one step with fresh optimizer moments; its loss against our CPU reference's, every gradient and
 * every parameter after the step against ours.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import { Mismatch } from '../harness/check.js';
import { jaxSubmit } from '../harness/jax.js';
import type { Jax, PeerPart } from '../harness/types.js';
import {
  disposeTrainState,
  jaxTrainState,
  jaxTrainStep,
  type JaxPeerStep,
  type JaxTrainState,
} from '../peers/jax_train.js';
import { gradClose, paramsClose, TOL, type State } from './train_check.js';

/** What the TF.js validation of a step checked, from ours: the weights before, the loss, gradients, weights after. */
export interface ValidatedStep {
  before: State;
  loss: number;
  grads: Record<string, Float32Array>;
  after: State;
}

/**
 * @param initial our model's weights at setup (the TF.js variables start from them too).
 * @param validated what the case's `validate` recorded; it runs before this part's.
 */
export function jaxTrainPart(
  jax: Jax,
  id: string,
  peer: JaxPeerStep,
  clip: { maxNorm?: number; weightDecay?: number },
  initial: State,
  validated: () => ValidatedStep | undefined,
): PeerPart {
  const step = jaxTrainStep(jax, peer, clip);
  let state: JaxTrainState = jaxTrainState(jax, initial);
  const leaves = (s: JaxTrainState) => jax.tree.leaves([s.params, s.m, s.v]) as JaxArray[];
  return {
    variants: [
      {
        name: 'jax-js',
        library: 'jax',
        run: async () => {
          const out = step.call(state);
          state = out.state;
          await jaxSubmit([out.loss, ...Object.values(out.grads), ...leaves(state).map((a) => a.ref)]);
        },
      },
    ],
    async validate() {
      const v = validated();
      if (!v) throw new Error(`${id}: the jax-js step was to be checked after the TF.js step`);
      disposeTrainState(jax, state);
      state = jaxTrainState(jax, v.before);
      const out = step.call(state);
      state = out.state;
      const [loss] = await out.loss.data();
      const rel = Math.abs(loss - v.loss) / Math.max(1e-12, Math.abs(v.loss));
      if (!(rel <= TOL))
        throw new Mismatch(
          `${id} jax-js loss: ${loss} vs ${v.loss} on the CPU reference (relative error ${rel.toExponential(2)} > ${TOL})`,
        );
      for (const [name, g] of Object.entries(out.grads))
        gradClose(`${id} jax-js ${name}.grad`, await g.data(), v.grads[name]);
      for (const [name, { values }] of Object.entries(v.after))
        paramsClose(
          `${id} parameter ${name} after one step: jax-js vs ours`,
          await state.params[name].ref.data(),
          values,
          v.before[name].values,
          v.grads[name],
        );
    },
    dispose() {
      disposeTrainState(jax, state);
      step.dispose();
      peer.dispose();
    },
  };
}
