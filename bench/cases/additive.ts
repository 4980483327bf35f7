/**
 * Additive (Bahdanau) attention after the projections, forward + backward: scores w·tanh(q_i + k_j), masked
 * softmax with 1-D `validLens`, weighted sum of values. Ours fused (`additiveScore`: no (B, L, S, H) tensor) vs
 * ours composed (`additiveScoreComposed`, d2l's broadcast sum) vs TF.js composed vs jax-js composed (`vjp` under
 * `jit`). Validated on the first two batch items against our CPU reference backend (output and the gradients of
 * q, k and v); the gradient of w, which sums over the whole batch, against ours fused.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { additiveScore, backward, maskedSoftmax, matmul, type Tensor } from '../../src/index.js';
import { additiveScoreComposed } from '../../src/internal.js';
import { expectClose, randomInts, randomValues } from '../harness/check.js';
import { jaxArray, jaxValues, jaxVariant } from '../harness/jax.js';
import { leading, once, onCpu } from '../harness/reference.js';
import type { BenchCase, Variant } from '../harness/types.js';
import { jaxAdditiveAttention, jitWithGrads } from '../peers/jax_attention.js';
import { tfAdditiveAttention } from './tfjs_attention.js';

const B = 32;
const H = 32;
const DV = 32;
const CHECKED = 2;

function attention(q: Tensor, k: Tensor, w: Tensor, v: Tensor, lens: Tensor, fused: boolean): Tensor {
  const scores = (fused ? additiveScore : additiveScoreComposed)(q, k, w);
  return matmul(maskedSoftmax(scores, lens), v);
}

function additiveCase(l: number, quick: boolean): BenchCase {
  const id = `additive-fwd-bwd/${B}x${l}x${H}`;
  const shapes = [[B, l, H], [B, l, H], [H], [B, l, DV], [B, l, DV]];
  return {
    group: 'additive-fwd-bwd',
    id,
    params: { size: l, batch: B, l, s: l, hidden: H, dv: DV, validLens: `(${B})` },
    quick,
    async setup({ engine, tf }) {
      const values = shapes.map((s, i) =>
        randomValues(
          s.reduce((a, b) => a * b),
          31 + i,
        ),
      );
      const lensv = randomInts(B, Math.ceil(l / 2), l, 36);
      const [q, k, w, v, dy] = values.map((x, i) => engine.fromArray(x, shapes[i]));
      const lens = engine.fromArray(lensv, [B], 'int32');
      const leaves = [q, k, w, v];
      const tfs = values.map((x, i) => tf.tensor(x, shapes[i]));
      const tlens = tf.tensor(lensv, [B], 'int32');

      const clearGrads = () => {
        for (const t of leaves) {
          t.grad?.dispose();
          t.grad = null;
        }
      };
      for (const t of leaves) t.requiresGrad = true;
      const ours = (fused: boolean): Tensor[] => {
        clearGrads();
        const y = attention(q, k, w, v, lens, fused);
        backward(y, dy);
        return [y, ...leaves.map((t) => t.grad!)];
      };
      const f = (a: TfTensor, b: TfTensor, c: TfTensor, d: TfTensor) =>
        tfAdditiveAttention(tf, a, b, c, d, tlens);
      const peer = (): TfTensor[] => [
        f(tfs[0], tfs[1], tfs[2], tfs[3]),
        ...tf.grads(f)(tfs.slice(0, 4), tfs[4]),
      ];
      const oursVariant = (fused: boolean): Variant => ({
        name: fused ? 'ours fused' : 'ours composed',
        library: 'ours',
        run: () => engine.tidy(() => void ours(fused)),
      });
      /** The first CHECKED items' output, dq, dk and dv on our CPU reference backend. */
      const reference = once(() =>
        onCpu(async (cpu) => {
          const [cq, ck, cw, cv, cdy] = values.map((x, i) =>
            i === 2
              ? cpu.fromArray(x, [H])
              : cpu.fromArray(
                  leading(
                    x,
                    CHECKED,
                    shapes[i].slice(1).reduce((a, b) => a * b),
                  ),
                  [CHECKED, ...shapes[i].slice(1)],
                ),
          );
          for (const t of [cq, ck, cw, cv]) t.requiresGrad = true;
          const clens = cpu.fromArray(lensv.subarray(0, CHECKED), [CHECKED], 'int32');
          const y = attention(cq, ck, cw, cv, clens, true);
          backward(y, cdy);
          return Promise.all([y, cq.grad!, ck.grad!, cv.grad!].map((t) => t.data()));
        }),
      );
      /** dw sums over the whole batch: the other libraries are checked against ours fused on it. */
      const oursDw = once(async () => {
        const dw = await engine.tidyAsync(() => ours(true)[3].data());
        clearGrads();
        return dw;
      });
      const names = ['output', 'dq', 'dk', 'dv'];
      const sizes = [l * DV, l * H, l * H, l * DV];
      /** got: output, dq, dk, dw, dv over the whole batch. */
      const check = async (variant: string, got: ArrayLike<number>[]) => {
        const want = await reference();
        [got[0], got[1], got[2], got[4]].forEach((g, i) =>
          expectClose(`${id} ${variant} ${names[i]}`, leading(g, CHECKED, sizes[i]), want[i], 1e-4),
        );
        if (variant !== 'ours fused')
          expectClose(`${id} dw: ${variant} vs ours fused`, got[3], await oursDw(), 1e-4);
      };
      return {
        variants: [
          oursVariant(true),
          oursVariant(false),
          { name: 'tfjs', library: 'tfjs', run: () => tf.tidy(() => void peer()) },
        ],
        async validate() {
          for (const fused of [true, false]) {
            const got = await engine.tidyAsync(() => Promise.all(ours(fused).map((t) => t.data())));
            clearGrads();
            await check(oursVariant(fused).name, got);
          }
          const outs = peer();
          const got = await Promise.all(outs.map((t) => t.data()));
          outs.forEach((t) => t.dispose());
          await check('tfjs', got);
        },
        dispose() {
          clearGrads();
          [q, k, w, v, dy, lens].forEach((t) => t.dispose());
          [...tfs, tlens].forEach((t) => t.dispose());
        },
        jax(jax) {
          const args = values.map((x, i) => jaxArray(jax, x, shapes[i]));
          // f's arguments, then the cotangent: q, k, w, v, lens, dy.
          args.splice(4, 0, jaxArray(jax, lensv, [B]));
          const fn = jitWithGrads(jax, 4, (a: JaxArray, b: JaxArray, c: JaxArray, d: JaxArray, n: JaxArray) =>
            jaxAdditiveAttention(jax, a, b, c, d, n),
          );
          return {
            variants: [jaxVariant(fn, args)],
            validate: async () => check('jax-js', await jaxValues(fn, args)),
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

export const additiveCases: BenchCase[] = [16, 64, 128].map((l) => additiveCase(l, l === 16));
