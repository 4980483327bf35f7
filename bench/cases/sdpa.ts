/**
 * Scaled dot-product attention with 1-D `validLens`, B·H = 32 heads, L = S ∈ {64…1024}, D ∈ {32, 64}, forward
 * and forward + backward: ours fused (FlashAttention-2 kernels), ours unfused (matmul → maskedSoftmax → matmul)
 * and TF.js composed as d2l writes it (gradients by `tf.grads`). Validated on the first two heads against our
 * CPU reference backend: the output and, for forward + backward, dq, dk and dv.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { scaledDotProductAttention } from '../../src/ops/attention.js';
import { backward } from '../../src/runtime/autograd.js';
import type { Tensor } from '../../src/runtime/tensor.js';
import { expectClose, randomInts, randomValues } from '../harness/check.js';
import { leading, onCpu } from '../harness/reference.js';
import type { BenchCase, Variant } from '../harness/types.js';
import { tfDotProductAttention } from './tfjs_attention.js';

const BH = 32;
/** Heads the CPU reference recomputes. */
const CHECKED = 2;

function sdpaCase(l: number, d: number, withBackward: boolean, quick: boolean): BenchCase {
  const group = withBackward ? 'sdpa-fwd-bwd' : 'sdpa-fwd';
  const id = `${group}/${BH}x${l}x${d}`;
  const shape = [BH, l, d];
  return {
    group,
    id,
    params: { size: l, heads: BH, l, s: l, d, validLens: `(${BH})`, dropout: 0 },
    // Two matmuls forward; four more backward (dv, dp, dq, dk), not counting the fused kernels' recompute.
    flops: (withBackward ? 12 : 4) * BH * l * l * d,
    quick,
    async setup({ engine, tf }) {
      const [qv, kv, vv, dyv] = [21, 22, 23, 24].map((seed) => randomValues(BH * l * d, seed));
      const lensv = randomInts(BH, Math.ceil(l / 2), l, 25);
      const [q, k, v, dy] = [qv, kv, vv, dyv].map((x) => engine.fromArray(x, shape));
      const lens = engine.fromArray(lensv, [BH], 'int32');
      for (const t of [q, k, v]) t.requiresGrad = withBackward;
      const [tq, tk, tv, tdy] = [qv, kv, vv, dyv].map((x) => tf.tensor(x, shape));
      const tlens = tf.tensor(lensv, [BH], 'int32');

      const clearGrads = () => {
        for (const t of [q, k, v]) {
          t.grad?.dispose();
          t.grad = null;
        }
      };
      /** Our output (and gradients): tensors that outlive no tidy but the one of the caller. */
      const ours = (fused: boolean): Tensor[] => {
        clearGrads();
        const { output } = scaledDotProductAttention(q, k, v, { validLens: lens, fused });
        if (!withBackward) return [output];
        backward(output, dy);
        return [output, q.grad!, k.grad!, v.grad!];
      };
      const f = (a: TfTensor, b: TfTensor, c: TfTensor) => tfDotProductAttention(tf, a, b, c, tlens);
      const peer = (): TfTensor[] =>
        withBackward ? [f(tq, tk, tv), ...tf.grads(f)([tq, tk, tv], tdy)] : [f(tq, tk, tv)];
      const oursVariant = (fused: boolean): Variant => ({
        name: fused ? 'ours fused' : 'ours unfused',
        library: 'ours',
        run: () => engine.tidy(() => void (withBackward ? ours(fused) : engine.noGrad(() => ours(fused)))),
      });
      return {
        variants: [
          oursVariant(true),
          oursVariant(false),
          { name: 'tfjs', library: 'tfjs', run: () => tf.tidy(() => void peer()) },
        ],
        async validate() {
          const n = CHECKED * l * d;
          const want = await onCpu(async (cpu) => {
            const [cq, ck, cv, cdy] = [qv, kv, vv, dyv].map((x) =>
              cpu.fromArray(leading(x, CHECKED, l * d), [CHECKED, l, d]),
            );
            for (const t of [cq, ck, cv]) t.requiresGrad = withBackward;
            const clens = cpu.fromArray(lensv.subarray(0, CHECKED), [CHECKED], 'int32');
            const { output } = scaledDotProductAttention(cq, ck, cv, { validLens: clens });
            if (withBackward) backward(output, cdy);
            const outs = withBackward ? [output, cq.grad!, ck.grad!, cv.grad!] : [output];
            return Promise.all(outs.map((t) => t.data()));
          });
          const names = ['output', 'dq', 'dk', 'dv'];
          for (const fused of [true, false]) {
            const got = await engine.tidyAsync(() => Promise.all(ours(fused).map((t) => t.data())));
            clearGrads();
            got.forEach((g, i) =>
              expectClose(`${id} ${oursVariant(fused).name} ${names[i]}`, leading(g, 1, n), want[i], 1e-4),
            );
          }
          const outs = peer();
          const got = await Promise.all(outs.map((t) => t.data()));
          outs.forEach((t) => t.dispose());
          got.forEach((g, i) => expectClose(`${id} tfjs ${names[i]}`, leading(g, 1, n), want[i], 1e-4));
        },
        dispose() {
          clearGrads();
          [q, k, v, dy, lens].forEach((t) => t.dispose());
          [tq, tk, tv, tdy, tlens].forEach((t) => t.dispose());
        },
      };
    },
  };
}

export const sdpaCases: BenchCase[] = [false, true].flatMap((withBackward) =>
  [64, 128, 256, 512, 1024].flatMap((l) => [32, 64].map((d) => sdpaCase(l, d, withBackward, l === 64))),
);
