/**
 * Dispatch overhead: a step made of many tiny kernels, where the JavaScript work per op (shape rules, pool,
 * uniforms, bind groups, the TF.js kernel registry) and not the GPU sets the time. The chain is `blocks` times
 * y ← 0.9 · tanh(y·W_i + b_i) on (8, 8) tensors: 4 dispatches per block. Variants: ours eager, ours replaying a
 * captured graph of the whole chain (src/runtime/capture.ts), and the same chain in TF.js. Validated against the
 * chain in plain float64 JavaScript.
 *
 * Also {@link captureTrainStep}: a captured training step as an `ours replay` variant of a train-step case.
 */
import { add, type CapturedGraph, type Engine, matmul, mul, tanh, type Tensor } from '../../src/index.js';
import { expectClose, randomValues, tfValues } from '../harness/check.js';
import type { BenchCase, Variant } from '../harness/types.js';

const D = 8;
/** Distinct weights, cycled through the blocks. */
const LAYERS = 4;
const SCALE = 0.9;

/** The chain in float64: y ← 0.9 · tanh(y·W_(i mod 4) + b_(i mod 4)), y and W row-major (D, D). */
function chainReference(
  x: Float32Array,
  ws: Float32Array[],
  bs: Float32Array[],
  blocks: number,
): Float64Array {
  let y = Float64Array.from(x);
  for (let i = 0; i < blocks; i++) {
    const w = ws[i % LAYERS];
    const b = bs[i % LAYERS];
    const next = new Float64Array(D * D);
    for (let r = 0; r < D; r++)
      for (let c = 0; c < D; c++) {
        let s = b[c];
        for (let k = 0; k < D; k++) s += y[r * D + k] * w[k * D + c];
        next[r * D + c] = SCALE * Math.tanh(s);
      }
    y = next;
  }
  return y;
}

function dispatchCase(blocks: number, quick: boolean): BenchCase {
  const id = `dispatch/${4 * blocks}x${D}x${D}`;
  return {
    group: 'dispatch',
    id,
    params: { size: 4 * blocks, dispatches: 4 * blocks, blocks, shape: `(${D}, ${D})` },
    flops: blocks * (2 * D * D * D + 3 * D * D),
    quick,
    async setup({ engine, tf }) {
      const xv = randomValues(D * D, 21);
      // N(0, 1/D) weights keep the activations in tanh's responsive range over hundreds of blocks.
      const wv = Array.from({ length: LAYERS }, (_, i) =>
        randomValues(D * D, 22 + i).map((v) => v / Math.sqrt(D)),
      );
      const bv = Array.from({ length: LAYERS }, (_, i) => randomValues(D, 32 + i).map((v) => 0.1 * v));
      const x = engine.fromArray(xv, [D, D]);
      const ws = wv.map((w) => engine.fromArray(w, [D, D]));
      const bs = bv.map((b) => engine.fromArray(b, [D]));
      const chain = (): Tensor => {
        let y = x;
        for (let i = 0; i < blocks; i++) y = mul(tanh(add(matmul(y, ws[i % LAYERS]), bs[i % LAYERS])), SCALE);
        return y;
      };
      const graph = engine.capture(chain);
      const tx = tf.tensor2d(xv, [D, D]);
      const tws = wv.map((w) => tf.tensor2d(w, [D, D]));
      const tbs = bv.map((b) => tf.tensor1d(b));
      const tscale = tf.scalar(SCALE);
      const tfChain = () => {
        let y = tx;
        for (let i = 0; i < blocks; i++)
          y = tf.mul(tf.tanh(tf.add(tf.matMul(y, tws[i % LAYERS]), tbs[i % LAYERS])), tscale);
        return y;
      };
      const variants: Variant[] = [
        { name: 'ours', library: 'ours', run: () => void engine.tidy(chain) },
        { name: 'ours replay', library: 'ours', run: () => graph.replay() },
        { name: 'tfjs', library: 'tfjs', run: () => void tf.tidy(tfChain) },
      ];
      return {
        variants,
        async validate() {
          const want = chainReference(xv, wv, bv, blocks);
          expectClose(`${id} ours`, await engine.tidyAsync(() => chain().data()), want, 1e-5);
          graph.replay();
          expectClose(`${id} ours replay`, await graph.result.data(), want, 1e-5);
          expectClose(`${id} tfjs`, await tfValues(tf.tidy(tfChain)), want, 1e-5);
        },
        dispose() {
          graph.dispose();
          [x, ...ws, ...bs].forEach((t) => t.dispose());
          [tx, ...tws, ...tbs, tscale].forEach((t) => t.dispose());
        },
      };
    },
  };
}

export const dispatchCases: BenchCase[] = [dispatchCase(50, true), dispatchCase(250, false)];

/** A captured training step, as a variant, and how to free it. */
export interface ReplayedStep {
  /** `'ours replay'`: one `graph.replay()` per run. */
  variant: Variant;
  graph: CapturedGraph<Tensor>;
  dispose(): void;
}

/**
 * Captures a training step for an `ours replay` variant. Runs `step` once eagerly first (optimizers create their
 * moments on their first step, which a capture must not record), then captures it; every replay is one more step
 * on the same batch and parameters. Use a model and optimizer of its own, not the eager variant's: eager steps
 * re-assign the parameters, which every replay would then copy back onto the graph's buffers.
 * @param step zero_grad, loss, backward, clip, optimizer step; returns the scalar loss (called inside a tidy).
 * @param optimizers the optimizers `step` advances, so that Adam's bias corrections follow the replays.
 * @throws Error when the step reads a tensor back (see `Engine.capture`).
 */
export function captureTrainStep(
  engine: Engine,
  step: () => Tensor,
  optimizers: { stepCount: number }[],
): ReplayedStep {
  engine.tidy(() => void step());
  const graph = engine.capture(step, { optimizers });
  return {
    variant: { name: 'ours replay', library: 'ours', run: () => graph.replay() },
    graph,
    dispose: () => graph.dispose(),
  };
}
