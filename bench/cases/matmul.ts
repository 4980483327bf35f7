/**
 * matmul: square sizes, the batched shapes scaled dot-product attention produces (q·kᵀ with transB, then
 * weights·v), and transposed operands. Ours (`matmul`) vs `tf.matMul` vs jax-js's `np.matmul` under `jit` (the
 * transposes inside it), validated on a sample of output entries against a float64 dot product on the host.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import { matmul } from '../../src/index.js';
import { expectClose, randomValues, samplePositions, tfValues } from '../harness/check.js';
import { peersLeftOut } from '../harness/env.js';
import { jaxArray, jaxValues, jaxVariant } from '../harness/jax.js';
import type { BenchCase } from '../harness/types.js';

export interface MatmulShape {
  batch: number;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** What the shape is, in tables. */
  kind: 'square' | 'attention' | 'transposed';
  quick: boolean;
}

/** Exported for the size profiles of bench/device/cases.ts. */
export function matmulCase(s: MatmulShape): BenchCase {
  const { batch, m, k, n, transA, transB } = s;
  const aShape = batch > 1 ? [batch] : [];
  const a = [...aShape, ...(transA ? [k, m] : [m, k])];
  const b = [...aShape, ...(transB ? [n, k] : [k, n])];
  const t = `${transA ? 'ᵀ' : ''}·${transB ? 'ᵀ' : ''}`;
  const id = `matmul/${batch > 1 ? `${batch}x` : ''}${m}x${k}x${n}${transA ? '-transA' : ''}${transB ? '-transB' : ''}`;
  return {
    group: 'matmul',
    id,
    params: { kind: s.kind, size: Math.max(m, n), batch, m, k, n, transA, transB, op: `(${a})${t}(${b})` },
    flops: 2 * batch * m * n * k,
    bytes: 4 * batch * (m * k + k * n + m * n),
    quick: s.quick,
    async setup(env) {
      const { engine, tf } = env;
      const leftOut = peersLeftOut(env, Math.max(m, n));
      const peers = leftOut === undefined;
      const av = randomValues(
        a.reduce((x, y) => x * y),
        1,
      );
      const bv = randomValues(
        b.reduce((x, y) => x * y),
        2,
      );
      const ours = [engine.fromArray(av, a), engine.fromArray(bv, b)];
      const peer = [tf.tensor(av, a), tf.tensor(bv, b)];
      const runOurs = () => matmul(ours[0], ours[1], { transA, transB });
      const runPeer = () => tf.matMul(peer[0], peer[1], transA, transB);
      /** A float64 dot product per sampled output entry. */
      const reference = () => {
        // Row-major strides of A[i, p] and B[p, j] for either layout.
        const [ai, ap] = transA ? [1, m] : [k, 1];
        const [bp, bj] = transB ? [1, k] : [n, 1];
        const at = samplePositions(batch * m * n, 512, 3);
        const want = at.map((pos) => {
          const bt = Math.floor(pos / (m * n));
          const [i, j] = [Math.floor(pos / n) % m, pos % n];
          let acc = 0;
          for (let p = 0; p < k; p++)
            acc += av[bt * m * k + i * ai + p * ap] * bv[bt * k * n + p * bp + j * bj];
          return acc;
        });
        return { at, want };
      };
      return {
        variants: [
          { name: 'ours', library: 'ours', run: () => void engine.tidy(runOurs) },
          ...(peers ? [{ name: 'tfjs', library: 'tfjs' as const, run: () => void tf.tidy(runPeer) }] : []),
        ],
        ...(leftOut ? { peersLeftOut: leftOut } : {}),
        async validate() {
          const { at, want } = reference();
          const got = await engine.tidyAsync(() => runOurs().data());
          expectClose(`${id} ours`, got, want, 1e-4, at);
          if (peers) expectClose(`${id} tfjs`, await tfValues(runPeer()), want, 1e-4, at);
        },
        dispose() {
          ours.forEach((x) => x.dispose());
          peer.forEach((x) => x.dispose());
        },
        jax(jax) {
          const np = jax.numpy;
          const args = [jaxArray(jax, av, a), jaxArray(jax, bv, b)];
          const fn = jax.jit((x: JaxArray, y: JaxArray) =>
            np.matmul(transA ? np.matrixTranspose(x) : x, transB ? np.matrixTranspose(y) : y),
          );
          return {
            variants: [jaxVariant(fn, args)],
            async validate() {
              const { at, want } = reference();
              expectClose(`${id} jax-js`, (await jaxValues(fn, args))[0], want, 1e-4, at);
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

const shapes: MatmulShape[] = [
  ...[128, 256, 512, 1024, 2048, 4096].map((n) => ({
    batch: 1,
    m: n,
    k: n,
    n,
    transA: false,
    transB: false,
    kind: 'square' as const,
    quick: n === 128,
  })),
  // q·kᵀ and weights·v for B·H = 32 heads of dim 64.
  ...[64, 128, 256, 512].flatMap((l) => [
    {
      batch: 32,
      m: l,
      k: 64,
      n: l,
      transA: false,
      transB: true,
      kind: 'attention' as const,
      quick: l === 64,
    },
    {
      batch: 32,
      m: l,
      k: l,
      n: 64,
      transA: false,
      transB: false,
      kind: 'attention' as const,
      quick: l === 64,
    },
  ]),
  ...[
    [true, false],
    [false, true],
    [true, true],
  ].flatMap(([transA, transB]) =>
    [128, 512].map((n) => ({
      batch: 1,
      m: n,
      k: n,
      n,
      transA,
      transB,
      kind: 'transposed' as const,
      quick: n === 128,
    })),
  ),
];

export const matmulCases: BenchCase[] = shapes.map(matmulCase);
