/**
 * Scaled dot-product attention with 1-D `validLens`, B·H = 32 heads, L = S ∈ {64…1024}, D ∈ {32, 64}, forward
 * and forward + backward: ours fused (FlashAttention-2 kernels), ours unfused (matmul → maskedSoftmax → matmul),
 * TF.js composed as d2l writes it (gradients by `tf.grads`) and jax-js composed as its `nn.dotProductAttention`
 * (gradients by `vjp`, all under `jit`). Validated on the first two heads against our CPU reference backend: the
 * output and, for forward + backward, dq, dk and dv.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { backward, scaledDotProductAttention, type Tensor } from '../../src/index.js';
import { expectClose, randomInts, randomValues } from '../harness/check.js';
import { peersLeftOut } from '../harness/env.js';
import { jaxArray, jaxValues, jaxVariant } from '../harness/jax.js';
import { leading, once, onCpu } from '../harness/reference.js';
import type { BenchCase, Jax, Variant } from '../harness/types.js';
import { jaxDotProductAttention, jitWithGrads } from '../peers/jax_attention.js';
import { sampledAttention } from '../device/sampled_attention.js';
import { tfDotProductAttention } from './tfjs_attention.js';

const HEADS = 32;
/** Heads the CPU reference recomputes. */
const CHECKED = 2;

/**
 * @param device bench/device/cases.ts's GPU sizes: `heads` instead of 32, and validation on sampled rows of two
 *   heads (bench/device/sampled_attention.ts), since the CPU reference of whole heads takes minutes at L = 8192.
 */
export function sdpaCase(
  l: number,
  d: number,
  withBackward: boolean,
  quick: boolean,
  device?: { heads: number },
): BenchCase {
  const BH = device?.heads ?? HEADS;
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
    async setup(env) {
      const { engine, tf } = env;
      const leftOut = peersLeftOut(env, l);
      const peers = leftOut === undefined;
      const [qv, kv, vv, dyv] = [21, 22, 23, 24].map((seed) => randomValues(BH * l * d, seed));
      const lensv = randomInts(BH, Math.ceil(l / 2), l, 25);
      // Zeroes rows of dyv: before any library gets it.
      const sampled = device && sampledAttention({ q: qv, k: kv, v: vv, dy: dyv, lens: lensv, l, d });
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
      const n = CHECKED * l * d;
      const names = ['output', 'dq', 'dk', 'dv'];
      /** The first heads' output (and gradients) on our CPU reference backend. */
      const cpuReference = once(() =>
        onCpu(async (cpu) => {
          const [cq, ck, cv, cdy] = [qv, kv, vv, dyv].map((x) =>
            cpu.fromArray(leading(x, CHECKED, l * d), [CHECKED, l, d]),
          );
          for (const t of [cq, ck, cv]) t.requiresGrad = withBackward;
          const clens = cpu.fromArray(lensv.subarray(0, CHECKED), [CHECKED], 'int32');
          const { output } = scaledDotProductAttention(cq, ck, cv, { validLens: clens });
          if (withBackward) backward(output, cdy);
          const outs = withBackward ? [output, cq.grad!, ck.grad!, cv.grad!] : [output];
          return Promise.all(outs.map((t) => t.data()));
        }),
      );
      const reference = sampled
        ? once(async (): Promise<ArrayLike<number>[]> => sampled.want(withBackward))
        : cpuReference;
      const check = (variant: string, got: ArrayLike<number>[], want: ArrayLike<number>[]) =>
        got.forEach((g, i) =>
          sampled
            ? expectClose(`${id} ${variant} ${names[i]}`, g, want[i], 1e-4, sampled.at[i])
            : expectClose(`${id} ${variant} ${names[i]}`, leading(g, 1, n), want[i], 1e-4),
        );
      return {
        variants: [
          oursVariant(true),
          oursVariant(false),
          ...(peers
            ? [{ name: 'tfjs', library: 'tfjs' as const, run: () => tf.tidy(() => void peer()) }]
            : []),
        ],
        ...(leftOut ? { peersLeftOut: leftOut } : {}),
        async validate() {
          const want = await reference();
          for (const fused of [true, false]) {
            const got = await engine.tidyAsync(() => Promise.all(ours(fused).map((t) => t.data())));
            clearGrads();
            check(oursVariant(fused).name, got, want);
          }
          if (!peers) return;
          const outs = peer();
          const got = await Promise.all(outs.map((t) => t.data()));
          outs.forEach((t) => t.dispose());
          check('tfjs', got, want);
        },
        dispose() {
          clearGrads();
          [q, k, v, dy, lens].forEach((t) => t.dispose());
          [tq, tk, tv, tdy, tlens].forEach((t) => t.dispose());
        },
        jax: (jax: Jax) => {
          const args = [qv, kv, vv].map((x) => jaxArray(jax, x, shape));
          args.push(jaxArray(jax, lensv, [BH]));
          if (withBackward) args.push(jaxArray(jax, dyv, shape));
          const f = (a: JaxArray, b: JaxArray, c: JaxArray, n: JaxArray) =>
            jaxDotProductAttention(jax, a, b, c, n);
          const fn = withBackward ? jitWithGrads(jax, 3, f) : jax.jit(f);
          return {
            variants: [jaxVariant(fn, args)],
            validate: async () => check('jax-js', await jaxValues(fn, args), await reference()),
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

export const sdpaCases: BenchCase[] = [false, true].flatMap((withBackward) =>
  [64, 128, 256, 512, 1024].flatMap((l) => [32, 64].map((d) => sdpaCase(l, d, withBackward, l === 64))),
);
