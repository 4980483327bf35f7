/**
 * One training step (forward, backward, gradient clipping where d2l clips, optimizer update) of each model in
 * src/models: ours vs the same step written with TF.js ops (bench/peers/), from the same weights on the same batch.
 * Variants `ours` (inside `engine.tidy`, no readback), `ours replay` (the same step captured once with
 * `engine.capture` and replayed: no per-op JavaScript work; a twin model, so the eager runs do not touch it) and
 * `tfjs` (inside `tf.tidy`, no `data()`); for the models with a jax-js version (cls-attention), `jax-js`: the whole
 * step under one `jit` (bench/cases/train_jax.ts), checked like TF.js's from the same weights after it.
 *
 * Validation, before timing: our weights (whatever the cold runs left) are copied into the TF.js variables, then
 * one step of a fresh optimizer runs on each side (Adam step 1, or SGD). Checked: (a) the loss of ours and of
 * TF.js against the loss of our float64 CPU reference engine on the same weights and batch; (b) every gradient the
 * optimizers apply (after clipping), TF.js vs ours, relative to the tensor's largest entry; (c) every parameter
 * after the step, TF.js vs ours. All within 1e-3; on lavapipe they agree to about 1e-5 (the loss alone is a weak
 * check at initialisation, where it sits near log V for any architecture: (b) is the one that catches a wrong
 * layer or a missing clip). The replay is checked by its loss against the CPU reference on the twin's weights
 * before the replay (test/capture.test.ts checks replayed updates against eager ones). Dropout is 0 in every
 * case, validated and timed: d2l trains the translation models with 0.1, but masks drawn by two libraries cannot
 * be compared (and a replay would repeat its captured mask).
 */
import type { Optimizer as TfOptimizer, Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { backward, clipGradNorm, type Engine, type Module, type Tensor } from '../../src/index.js';
import type { Optimizer } from '../../src/internal.js';
import { Mismatch } from '../harness/check.js';
import { onCpu } from '../harness/reference.js';
import { captureTrainStep } from './dispatch.js';
import type { BenchCase, Jax, TF } from '../harness/types.js';
import type { JaxPeerStep } from '../peers/jax_train.js';
import {
  assignVariables,
  disposeVariables,
  readVariables,
  tfVariables,
  trainStep,
  type TfParams,
} from '../peers/tfjs_train.js';
import { gradClose, paramsClose, TOL, type State } from './train_check.js';
import { jaxTrainPart, type ValidatedStep } from './train_jax.js';
import { clsStep, nwStep, seq2seqStep, transformerStep } from './train_models.js';

/** The TF.js side of a step: its batch tensors (built once) and its scalar loss. */
export interface PeerStep {
  loss(p: TfParams): TfTensor;
  dispose(): void;
}

/** One model's training step, for both libraries. */
export interface StepSpec<M extends Module = Module> {
  /** `'seq2seq'`, `'transformer'`, …: the id is `train-step/<name>/<size>`. */
  name: string;
  /** The id's size part, `64x10x32`. */
  size: string;
  /** Written into the results; `size` (a number) is what `--sizes` filters on. */
  params: Record<string, number | string | boolean>;
  quick: boolean;
  /** Our model on the current engine, initialised from a fixed seed. */
  build(): M;
  /** The batch on `e` (our GPU engine or the CPU reference). */
  inputs(e: Engine): Tensor[];
  /** Our scalar training loss (call inside a tidy scope). */
  loss(model: M, inputs: Tensor[]): Tensor;
  optimizer(params: Tensor[]): Optimizer;
  tfOptimizer(tf: TF): TfOptimizer;
  /** Global gradient-norm clip (d2l's `grad_clipping(net, 1)`), when the model's trainer clips. */
  maxNorm?: number;
  /** Our optimizer's L2 weight decay, which TF.js's optimizers lack: the peer adds it to the gradients. */
  weightDecay?: number;
  peer(tf: TF): PeerStep;
  /** The step in jax-js, for the models that have one (bench/peers/jax_*.ts). */
  jax?(jax: Jax): JaxPeerStep;
}

/** Our trainable parameters (not buffers such as running means) by state_dict name. */
async function parameterState(model: Module): Promise<State> {
  const trainable = new Set(model.parameters());
  const out: State = {};
  for (const [name, t] of model.namedTensors())
    if (trainable.has(t)) out[name] = { values: (await t.data()) as Float32Array, shape: [...t.shape] };
  return out;
}

/** Every tensor of the state dict (buffers too), for the CPU copy. */
async function fullState(model: Module): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of model.namedTensors()) out[name] = (await t.data()) as Float32Array;
  return out;
}

/** Our parameters' gradients by state_dict name (after clipping: what the optimizer applies). */
async function gradState(model: Module): Promise<Record<string, Float32Array>> {
  const trainable = new Set(model.parameters());
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of model.namedTensors())
    if (trainable.has(t)) {
      if (!t.grad) throw new Error(`${name}: no gradient after backward`);
      out[name] = (await t.grad.data()) as Float32Array;
    }
  return out;
}

/** Our step: loss, backward, clip, update. Call inside `engine.tidy`. @returns the loss before the update. */
function oursStep<M extends Module>(spec: StepSpec<M>, model: M, opt: Optimizer, inputs: Tensor[]): Tensor {
  opt.zeroGrad();
  const l = spec.loss(model, inputs);
  backward(l);
  if (spec.maxNorm !== undefined) clipGradNorm(model.parameters(), spec.maxNorm).dispose();
  opt.step();
  return l;
}

/** A benchmark case from a step spec. */
export function trainCase<M extends Module>(spec: StepSpec<M>): BenchCase {
  const id = `train-step/${spec.name}/${spec.size}`;
  return {
    group: 'train-step',
    id,
    params: { model: spec.name, dropout: 0, ...spec.params },
    quick: spec.quick,
    async setup(env) {
      const { engine, tf } = env;
      const model = spec.build();
      const params = model.parameters();
      const opt = spec.optimizer(params);
      const inputs = spec.inputs(engine);
      const initial = await parameterState(model);
      const vars = tfVariables(tf, initial);
      /** What the TF.js validation found, for jax-js's, which runs after it from the same weights. */
      let validated: ValidatedStep | undefined;
      const tfOpt = spec.tfOptimizer(tf);
      const peer = spec.peer(tf);
      const twin = spec.build();
      const twinOpt = spec.optimizer(twin.parameters());
      const twinInputs = spec.inputs(engine);
      const replay = captureTrainStep(engine, () => oursStep(spec, twin, twinOpt, twinInputs), [twinOpt]);
      /** Our CPU reference's loss for `m`'s current weights on the batch. */
      const cpuLoss = async (m: M) => {
        const state = await fullState(m);
        const [want] = await onCpu(async (cpu) => {
          const fresh = spec.build();
          fresh.loadStateDict(state);
          return spec.loss(fresh, spec.inputs(cpu)).data();
        });
        return want;
      };
      return {
        variants: [
          {
            name: 'ours',
            library: 'ours',
            run: () => engine.tidy(() => void oursStep(spec, model, opt, inputs)),
          },
          replay.variant,
          {
            name: 'tfjs',
            library: 'tfjs',
            run: () => tf.tidy(() => void trainStep(tf, vars, tfOpt, () => peer.loss(vars), spec)),
          },
        ],
        async validate() {
          const before = await parameterState(model);
          assignVariables(tf, vars, before);
          const want = await cpuLoss(model);
          // Fresh optimizers on both sides: the cold runs have already stepped the timed ones.
          const ourOpt = spec.optimizer(params);
          const ours = await engine.tidyAsync(() => oursStep(spec, model, ourOpt, inputs).data());
          const ourGrads = await gradState(model);
          ourOpt.zeroGrad();
          ourOpt.dispose();
          const peerOpt = spec.tfOptimizer(tf);
          const step = tf.tidy(() => trainStep(tf, vars, peerOpt, () => peer.loss(vars), spec));
          const theirs = await step.loss.data();
          const tfGrads: Record<string, ArrayLike<number>> = {};
          for (const [name, g] of Object.entries(step.grads)) tfGrads[name] = await g.data();
          tf.dispose(step);
          peerOpt.dispose();
          const rel = (got: number, ref = want) => Math.abs(got - ref) / Math.max(1e-12, Math.abs(ref));
          for (const [variant, got] of [
            ['ours', ours[0]],
            ['tfjs', theirs[0]],
          ] as const)
            if (!(rel(got) <= TOL))
              throw new Mismatch(
                `${id} ${variant} loss: ${got} vs ${want} on the CPU reference (relative error ${rel(got).toExponential(2)} > ${TOL})`,
              );
          for (const [name, g] of Object.entries(ourGrads))
            gradClose(`${id} tfjs ${name}.grad`, tfGrads[name], g);
          const after = await parameterState(model);
          validated = { before, loss: want, grads: ourGrads, after };
          const tfAfter = await readVariables(vars);
          let moved = 0;
          for (const [name, { values }] of Object.entries(after)) {
            paramsClose(
              `${id} parameter ${name} after one step: tfjs vs ours`,
              tfAfter[name],
              values,
              before[name].values,
              ourGrads[name],
            );
            values.forEach((v, i) => (moved = Math.max(moved, Math.abs(v - before[name].values[i]))));
          }
          if (moved === 0) throw new Error(`${id}: one step of ours left every parameter unchanged`);
          const wantReplay = await cpuLoss(twin);
          replay.graph.replay();
          const [gotReplay] = await replay.graph.result.data();
          if (!(rel(gotReplay, wantReplay) <= TOL))
            throw new Mismatch(
              `${id} ours replay loss: ${gotReplay} vs ${wantReplay} on the CPU reference (relative error ${rel(gotReplay, wantReplay).toExponential(2)} > ${TOL})`,
            );
        },
        dispose() {
          replay.dispose();
          twinOpt.zeroGrad();
          twinOpt.dispose();
          for (const t of twinInputs) t.dispose();
          twin.dispose();
          opt.zeroGrad();
          opt.dispose();
          for (const t of inputs) t.dispose();
          model.dispose();
          disposeVariables(vars);
          tfOpt.dispose();
          peer.dispose();
        },
        ...(spec.jax
          ? {
              jax: (jax: Jax) =>
                // Minutes of pipeline compilation for the jitted step on lavapipe (seconds on SwiftShader in
                // Chrome): not what CI's quick run is for.
                env.quick && env.runtime === 'node' && engine.profile.software
                  ? 'left out of --quick runs in Node on a software adapter (its jitted step compiles for minutes on lavapipe)'
                  : jaxTrainPart(jax, id, spec.jax!(jax), spec, initial, () => validated),
            }
          : {}),
      };
    },
  };
}

/** Every training-step case: the d2l configurations (quick), then larger ones. */
export const trainCases: BenchCase[] = [
  trainCase(seq2seqStep({ batch: 64, numSteps: 10, hidden: 32, quick: true })),
  trainCase(transformerStep({ batch: 64, numSteps: 10, hidden: 32, quick: true })),
  trainCase(nwStep()),
  trainCase(clsStep('mlp')),
  trainCase(clsStep('attention')),
  trainCase(seq2seqStep({ batch: 128, numSteps: 10, hidden: 128, quick: false })),
  trainCase(transformerStep({ batch: 128, numSteps: 10, hidden: 128, quick: false })),
];
