/**
 * Additive (Bahdanau) attention after the projections, forward + backward: scores w·tanh(q_i + k_j), masked
 * softmax with 1-D `validLens`, weighted sum of values. Ours fused (`additiveScore`: no (B, L, S, H) tensor) vs
 * ours composed (`additiveScoreComposed`, d2l's broadcast sum) vs TF.js composed. Validated on the first two
 * batch items against our CPU reference backend (output and the gradients of q, k, w and v).
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { additiveScore, additiveScoreComposed } from '../../src/ops/additive_score.js';
import { maskedSoftmax } from '../../src/ops/masked_softmax.js';
import { matmul } from '../../src/ops/matmul.js';
import { backward } from '../../src/runtime/autograd.js';
import type { Tensor } from '../../src/runtime/tensor.js';
import { expectClose, randomInts, randomValues } from '../harness/check.js';
import { leading, onCpu } from '../harness/reference.js';
import type { BenchCase, Variant } from '../harness/types.js';
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
      return {
        variants: [
          oursVariant(true),
          oursVariant(false),
          { name: 'tfjs', library: 'tfjs', run: () => tf.tidy(() => void peer()) },
        ],
        async validate() {
          // The first CHECKED batch items; w is shared by all items, so its gradient is checked by a separate
          // full-batch CPU run only in quick sizes (it sums over every item).
          const per = [l * H, l * H, 0, l * DV];
          const want = await onCpu(async (cpu) => {
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
          });
          const names = ['output', 'dq', 'dk', 'dv'];
          const sizes = [l * DV, ...[0, 1, 3].map((i) => per[i])];
          const check = (variant: string, got: ArrayLike<number>[]) => {
            const picked = [got[0], got[1], got[2], got[4]];
            picked.forEach((g, i) =>
              expectClose(`${id} ${variant} ${names[i]}`, leading(g, CHECKED, sizes[i]), want[i], 1e-4),
            );
          };
          for (const fused of [true, false]) {
            check(
              oursVariant(fused).name,
              await engine.tidyAsync(() => Promise.all(ours(fused).map((t) => t.data()))),
            );
            clearGrads();
          }
          const outs = peer();
          const got = await Promise.all(outs.map((t) => t.data()));
          outs.forEach((t) => t.dispose());
          check('tfjs', got);
          // dw sums over the whole batch: ours fused, ours composed and TF.js must agree on it.
          const dws = [];
          for (const fused of [true, false]) {
            dws.push(await engine.tidyAsync(() => ours(fused)[3].data()));
            clearGrads();
          }
          const touts = peer();
          dws.push(await touts[3].data());
          touts.forEach((t) => t.dispose());
          expectClose(`${id} dw: ours composed vs ours fused`, dws[1], dws[0], 1e-4);
          expectClose(`${id} dw: tfjs vs ours fused`, dws[2], dws[0], 1e-4);
        },
        dispose() {
          clearGrads();
          [q, k, w, v, dy, lens].forEach((t) => t.dispose());
          [...tfs, tlens].forEach((t) => t.dispose());
        },
      };
    },
  };
}

export const additiveCases: BenchCase[] = [16, 64, 128].map((l) => additiveCase(l, l === 16));
