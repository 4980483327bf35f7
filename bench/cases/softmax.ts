/**
 * Masked softmax (d2l §11.3) over (B, L, S) scores with 1-D (B) and 2-D (B, L) `validLens`: ours (one kernel)
 * vs d2l's composition (`where` mask, then softmax) in TF.js and in jax-js under `jit`. Validated against our
 * float64 CPU reference on the full tensor. Memory-bound: GB/s counts one read and one write of the scores.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import { maskedSoftmax } from '../../src/index.js';
import { maskedSoftmaxOp, runReference } from '../../src/internal.js';
import { expectClose, randomInts, randomValues, tfValues } from '../harness/check.js';
import { jaxArray, jaxValues, jaxVariant } from '../harness/jax.js';
import type { BenchCase } from '../harness/types.js';
import { jaxMaskedSoftmax } from '../peers/jax_attention.js';
import { tfMaskedSoftmax } from './tfjs_attention.js';

function softmaxCase(b: number, l: number, s: number, lensRank: 1 | 2, quick: boolean): BenchCase {
  const lensShape = lensRank === 1 ? [b] : [b, l];
  const id = `masked-softmax/${b}x${l}x${s}-lens${lensRank}d`;
  return {
    group: 'masked-softmax',
    id,
    params: { size: l, batch: b, l, s, validLens: `(${lensShape})` },
    bytes: 8 * b * l * s,
    quick,
    async setup({ engine, tf }) {
      const xv = randomValues(b * l * s, 11);
      const lv = randomInts(
        lensShape.reduce((x, y) => x * y),
        0,
        s,
        12,
      );
      const ours = [engine.fromArray(xv, [b, l, s]), engine.fromArray(lv, lensShape, 'int32')];
      const peer = [tf.tensor(xv, [b, l, s]), tf.tensor(lv, lensShape, 'int32')];
      const runOurs = () => maskedSoftmax(ours[0], ours[1]);
      const runPeer = () => tfMaskedSoftmax(tf, peer[0], peer[1]);
      const reference = () =>
        runReference(
          maskedSoftmaxOp,
          [
            { shape: [b, l, s], data: Float64Array.from(xv) },
            { shape: lensShape, dtype: 'int32' as const, data: lv },
          ],
          {},
        )[0];
      return {
        variants: [
          { name: 'ours', library: 'ours', run: () => void engine.tidy(runOurs) },
          { name: 'tfjs', library: 'tfjs', run: () => void tf.tidy(runPeer) },
        ],
        async validate() {
          const want = reference();
          expectClose(`${id} ours`, await engine.tidyAsync(() => runOurs().data()), want, 1e-5);
          expectClose(`${id} tfjs`, await tfValues(tf.tidy(runPeer)), want, 1e-5);
        },
        dispose() {
          ours.forEach((x) => x.dispose());
          peer.forEach((x) => x.dispose());
        },
        jax(jax) {
          const args = [jaxArray(jax, xv, [b, l, s]), jaxArray(jax, lv, lensShape)];
          const fn = jax.jit((x: JaxArray, lens: JaxArray) => jaxMaskedSoftmax(jax, x, lens));
          return {
            variants: [jaxVariant(fn, args)],
            async validate() {
              expectClose(`${id} jax-js`, (await jaxValues(fn, args))[0], reference(), 1e-5);
            },
            dispose() {
              args.forEach((x) => x.dispose());
              fn.dispose();
            },
          };
        },
      };
    },
  };
}

export const softmaxCases: BenchCase[] = [
  [32, 64, 64, true],
  [32, 128, 128, false],
  [32, 512, 512, false],
  [8, 1024, 1024, false],
].flatMap(([b, l, s, quick]) =>
  ([1, 2] as const).map((r) => softmaxCase(b as number, l as number, s as number, r, quick as boolean)),
);
