/**
 * d2l §11.3 attention scoring: the book's printed examples, PyTorch parity of AdditiveAttention and
 * DotProductAttention, the fused additive scoring kernel against d2l's broadcast construction (values, gradients,
 * memory), masking, dropout, bilinear scoring and hard attention.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import {
  AdditiveAttention,
  BilinearAttention,
  DotProductAttention,
  type ScoringAttention,
} from '../src/nn/attention_scoring.js';
import { manualSeed } from '../src/runtime/random.js';
import { additiveScore, additiveScoreBackward, additiveScoreComposed } from '../src/ops/additive_score.js';
import { dropoutUniform, nextSeed } from '../src/ops/dropout.js';
import { mul } from '../src/ops/elementwise.js';
import { hardAttention } from '../src/ops/hard_attention.js';
import { maskedSoftmaxOp } from '../src/ops/masked_softmax.js';
import { sum } from '../src/ops/reduce.js';
import { runReference } from '../src/runtime/op.js';
import { backward } from '../src/ops/autograd.js';
import type { Backend } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';
import { useEngine } from './engine_fixture.js';
import { expectClose, f32 } from './helpers.js';

const engine = useEngine();
const cpu = useEngine('cpu', { current: false });

const normals = (n: number, rng: Random) => Array.from(f32(Array.from({ length: n }, () => rng.normal())));
const fixture = () => JSON.parse(readFileSync(new URL('./fixtures/attention.json', import.meta.url), 'utf8'));

/** d2l §11.3's example inputs: keys all ones (2, 10, 2), values arange(40) as (10, 4) for both batch items. */
function d2lExample(queryShape: number[]) {
  const rng = new Random(3);
  const queries = engine().fromArray(
    normals(
      queryShape.reduce((a, b) => a * b),
      rng,
    ),
    queryShape,
  );
  const keys = engine().fromArray(new Array(40).fill(1), [2, 10, 2]);
  const row = Array.from({ length: 40 }, (_, i) => i);
  const values = engine().fromArray([...row, ...row], [2, 10, 4]);
  return { queries, keys, values };
}

/** The mean of the first 2 (resp. 6) rows of arange(40).reshape(10, 4), as d2l prints it. */
const D2L_OUTPUT = [2, 3, 4, 5, 10, 11, 12, 13];
const D2L_WEIGHTS = [...[0.5, 0.5], ...new Array(8).fill(0), ...new Array(6).fill(1 / 6), 0, 0, 0, 0];

describe('d2l §11.3 printed examples (eval mode)', () => {
  it.each([true, false])(
    'AdditiveAttention(key_size=2, query_size=20, num_hiddens=8, dropout=0.1), fused %s',
    (fused) =>
      engine().tidyAsync(async () => {
        const { queries, keys, values } = d2lExample([2, 1, 20]);
        const attention = new AdditiveAttention({
          keySize: 2,
          querySize: 20,
          numHiddens: 8,
          dropout: 0.1,
          fused,
        });
        attention.eval();
        const out = attention.forward(queries, keys, values, engine().fromArray([2, 6], [2], 'int32'));
        expect(out.shape).toEqual([2, 1, 4]);
        expectClose(await out.data(), D2L_OUTPUT, { atol: 1e-5, what: 'output' });
        expect(attention.attentionWeights!.shape).toEqual([2, 1, 10]);
        expectClose(await attention.attentionWeights!.data(), D2L_WEIGHTS, { atol: 1e-6, what: 'weights' });
        attention.dispose();
      }),
  );

  it('DotProductAttention(dropout=0.5) with queries normal(0, 1, (2, 1, 2))', () =>
    engine().tidyAsync(async () => {
      const { queries, keys, values } = d2lExample([2, 1, 2]);
      const attention = new DotProductAttention({ dropout: 0.5 }).eval();
      const out = attention.forward(queries, keys, values, [2, 6]);
      expect(out.shape).toEqual([2, 1, 4]);
      expectClose(await out.data(), D2L_OUTPUT, { atol: 1e-5, what: 'output' });
      expectClose(await attention.attentionWeights!.data(), D2L_WEIGHTS, { atol: 1e-6, what: 'weights' });
    }));
});

interface Values {
  shape: number[];
  data: number[];
}

/** One module's entry in test/fixtures/attention.json. */
interface Reference {
  inputs: Record<'queries' | 'keys' | 'values', Values>;
  valid_lens: Values;
  state_dict?: Record<string, number[]>;
  output: Values;
  attention_weights: Values;
  dy: number[];
  grads: Record<string, number[]>;
}

/** Output, weights and the gradients of sum(output · dy) in the inputs and parameters, against PyTorch's. */
async function parity(backend: Backend, ref: Reference, makeModule: () => ScoringAttention) {
  const e = backend === 'webgpu' ? engine() : cpu();
  setEngine(e);
  await e.tidyAsync(async () => {
    const module = makeModule().eval();
    if (ref.state_dict) module.loadStateDict(ref.state_dict);
    const names = ['queries', 'keys', 'values'] as const;
    const [q, k, v] = names.map((n) => {
      const t = e.fromArray(ref.inputs[n].data, ref.inputs[n].shape);
      t.requiresGrad = true;
      return t;
    });
    const lens = e.fromArray(ref.valid_lens.data, ref.valid_lens.shape, 'int32');
    const out = module.forward(q, k, v, lens);
    expectClose(await out.data(), ref.output.data, { atol: 1e-5, what: 'output' });
    expectClose(await module.attentionWeights!.data(), ref.attention_weights.data, {
      atol: 1e-6,
      what: 'weights',
    });
    backward(out, e.fromArray(ref.dy, out.shape));
    for (const [n, t] of [...names.map((n, i) => [n, [q, k, v][i]] as const), ...module.namedTensors()])
      expectClose(await t.grad!.data(), ref.grads[n], { atol: 1e-5, what: `d ${n}` });
    module.dispose();
  });
}

describe.each<Backend>(['webgpu', 'cpu'])('PyTorch parity (scripts/torch/attention.py) on %s', (backend) => {
  it.each([true, false])(
    'AdditiveAttention, fused %s: output, weights, input and parameter gradients',
    (fused) => {
      const ref = fixture().additive_attention;
      return parity(backend, ref, () => new AdditiveAttention({ ...ref.config, fused }));
    },
  );

  it('DotProductAttention with (B, L) valid lengths', () => {
    const ref = fixture().dot_product_attention;
    return parity(backend, ref, () => new DotProductAttention(ref.config));
  });
});

/** Fused vs composed additive scores: values and the gradients of sum(y · dy) in q, k and w. */
async function fusedVsComposed(b: number, l: number, s: number, h: number) {
  const rng = new Random(b * 1000 + l * 100 + s * 10 + h);
  const qv = normals(b * l * h, rng);
  const kv = normals(b * s * h, rng);
  const wv = normals(h, rng);
  const dyv = normals(b * l * s, rng);
  const run = (fn: typeof additiveScore) =>
    engine().tidyAsync(async () => {
      const [q, k, w] = [
        [qv, [b, l, h]],
        [kv, [b, s, h]],
        [wv, [h]],
      ].map(([v, shape]) => {
        const t = engine().fromArray(v as number[], shape as number[]);
        t.requiresGrad = true;
        return t;
      });
      const y = fn(q, k, w);
      backward(y, engine().fromArray(dyv, y.shape));
      return Promise.all([y, q.grad!, k.grad!, w.grad!].map((t) => t.data()));
    });
  const fused = await run(additiveScore);
  const composed = await run(additiveScoreComposed);
  ['scores', 'dq', 'dk', 'dw'].forEach((what, i) =>
    expectClose(fused[i], composed[i], { atol: 1e-4, rtol: 1e-4, what }),
  );
}

describe('fused additive scoring kernel', () => {
  it.each([
    [3, 1, 7, 13],
    [1, 1, 1, 1],
    [2, 17, 33, 20],
    [2, 5, 1, 40],
  ])('equals the composed (B, L, S, H) version, forward and backward: B=%i L=%i S=%i H=%i', fusedVsComposed);

  it('backward handles a batch past one dispatch (B = 65537), against the float64 reference', () =>
    engine().tidyAsync(async () => {
      const [b, l, s, h] = [65537, 1, 2, 3];
      const rng = new Random(5);
      const vals = [b * l * h, b * s * h, h, b * l * s].map((n) => normals(n, rng));
      const shapes = [[b, l, h], [b, s, h], [h], [b, l, s]];
      const cpu = runReference(
        additiveScoreBackward,
        vals.map((v, i) => ({ shape: shapes[i], data: v })),
        {},
      );
      const [q, k, w] = vals.slice(0, 3).map((v, i) => {
        const t = engine().fromArray(v, shapes[i]);
        t.requiresGrad = true;
        return t;
      });
      backward(additiveScore(q, k, w), engine().fromArray(vals[3], shapes[3]));
      expectClose(await q.grad!.data(), cpu[0], { what: 'dq' });
      expectClose(await k.grad!.data(), cpu[1], { what: 'dk' });
      expectClose(await w.grad!.data(), cpu[2], {
        atol: 2e-3,
        rtol: 1e-3,
        what: 'dw (a sum over 131074 terms)',
      });
    }));

  it('never allocates the (B, L, S, H) features that the composed version needs', async () => {
    const [b, l, s, h] = [2, 64, 64, 64];
    const features = b * l * s * h * 4;
    const peak = (fn: typeof additiveScore) =>
      engine().tidyAsync(async () => {
        const rng = new Random(9);
        const q = engine().fromArray(normals(b * l * h, rng), [b, l, h]);
        const k = engine().fromArray(normals(b * s * h, rng), [b, s, h]);
        const w = engine().fromArray(normals(h, rng), [h]);
        for (const t of [q, k, w]) t.requiresGrad = true;
        await engine().sync();
        engine().pool!.resetPeak();
        const before = engine().memoryStats().inUseBytes;
        backward(sum(fn(q, k, w)));
        await engine().sync();
        return engine().memoryStats().peakBytes - before;
      });
    const fused = await peak(additiveScore);
    const composed = await peak(additiveScoreComposed);
    expect(fused).toBeLessThan(features / 4);
    expect(composed).toBeGreaterThanOrEqual(features);
  });
});

describe('masking and dropout', () => {
  it.each([true, false])(
    'keys and values past the valid length get exactly zero gradient (fused %s)',
    (fused) =>
      engine().tidyAsync(async () => {
        const rng = new Random(11);
        const attention = new AdditiveAttention({
          keySize: 3,
          querySize: 5,
          numHiddens: 7,
          dropout: 0,
          fused,
        });
        const q = engine().fromArray(normals(2 * 4 * 5, rng), [2, 4, 5]);
        const k = engine().fromArray(normals(2 * 10 * 3, rng), [2, 10, 3]);
        const v = engine().fromArray(normals(2 * 10 * 2, rng), [2, 10, 2]);
        k.requiresGrad = v.requiresGrad = true;
        const out = attention.forward(q, k, v, [2, 6]);
        backward(out, engine().fromArray(normals(out.numel(), rng), out.shape));
        const dk = await k.grad!.data();
        const dv = await v.grad!.data();
        for (const [b, len] of [2, 6].entries()) {
          const rows = (g: ArrayLike<number>, d: number, from: number, to: number) =>
            Array.from(g).slice((b * 10 + from) * d, (b * 10 + to) * d);
          expect(rows(dk, 3, len, 10).every((x) => x === 0)).toBe(true);
          expect(rows(dv, 2, len, 10).every((x) => x === 0)).toBe(true);
          expect(rows(dk, 3, 0, len).some((x) => x !== 0)).toBe(true);
          expect(rows(dv, 2, 0, len).some((x) => x !== 0)).toBe(true);
        }
        attention.dispose();
      }),
  );

  it('drops attention weights only in training, with the mask of its seed, and keeps the weights pre-dropout', () =>
    engine().tidyAsync(async () => {
      const rng = new Random(12);
      const [b, l, s, dv, p] = [2, 3, 8, 4, 0.5];
      const q = engine().fromArray(normals(b * l * 6, rng), [b, l, 6]);
      const k = engine().fromArray(normals(b * s * 6, rng), [b, s, 6]);
      const vv = normals(b * s * dv, rng);
      const v = engine().fromArray(vv, [b, s, dv]);
      const attention = new DotProductAttention({ dropout: p });
      const evalOut = await attention.eval().forward(q, k, v).data();
      const evalWeights = await attention.attentionWeights!.data();
      manualSeed(77);
      const seed = nextSeed();
      manualSeed(77);
      const trainOut = await attention.train().forward(q, k, v).data();
      expect(Array.from(await attention.attentionWeights!.data())).toEqual(Array.from(evalWeights));
      const expected = (dropped: boolean) => {
        const y = new Float64Array(b * l * dv);
        for (let z = 0; z < b; z++)
          for (let i = 0; i < l; i++)
            for (let j = 0; j < s; j++) {
              const flat = (z * l + i) * s + j;
              const a = dropped
                ? dropoutUniform(seed, flat) >= p
                  ? evalWeights[flat] / (1 - p)
                  : 0
                : evalWeights[flat];
              for (let e = 0; e < dv; e++) y[(z * l + i) * dv + e] += a * vv[(z * s + j) * dv + e];
            }
        return y;
      };
      expectClose(evalOut, expected(false), { atol: 1e-5, what: 'eval output' });
      expectClose(trainOut, expected(true), { atol: 1e-5, what: 'training output' });
      expect(Array.from(trainOut)).not.toEqual(Array.from(evalOut));
    }));
});

/** float64 q W kᵀ (or q kᵀ · scale when W is null), masked softmax, bmm. */
function scoringCpu(
  q: number[],
  k: number[],
  v: number[],
  W: number[] | null,
  [b, l, s, dq, dk, dv]: number[],
  lens: number[],
  scale = 1,
) {
  const scores = new Float64Array(b * l * s);
  for (let z = 0; z < b; z++)
    for (let i = 0; i < l; i++)
      for (let j = 0; j < s; j++) {
        let acc = 0;
        for (let x = 0; x < dq; x++)
          for (let y = 0; y < dk; y++) {
            const w = W ? W[x * dk + y] : Number(x === y);
            acc += q[(z * l + i) * dq + x] * w * k[(z * s + j) * dk + y];
          }
        scores[(z * l + i) * s + j] = acc * scale;
      }
  const weights = runReference(
    maskedSoftmaxOp,
    [
      { shape: [b, l, s], data: scores },
      { shape: [b, l], dtype: 'int32' as const, data: lens },
    ],
    {},
  )[0];
  const out = new Float64Array(b * l * dv);
  for (let z = 0; z < b; z++)
    for (let i = 0; i < l; i++)
      for (let j = 0; j < s; j++)
        for (let e = 0; e < dv; e++)
          out[(z * l + i) * dv + e] += weights[(z * l + i) * s + j] * v[(z * s + j) * dv + e];
  return { weights, out };
}

describe('bilinear and unscaled dot-product scoring against float64', () => {
  const dims = [2, 3, 4, 5, 6, 3];
  const [b, l, s, dq, dk, dv] = dims;
  const lens = [1, 4, 2, 3, 0, 4];

  it('BilinearAttention: output, weights and dW (central differences)', () =>
    engine().tidyAsync(async () => {
      const rng = new Random(21);
      const [qv, kv, vv, dyv] = [b * l * dq, b * s * dk, b * s * dv, b * l * dv].map((n) => normals(n, rng));
      const attention = new BilinearAttention({ querySize: dq, keySize: dk, dropout: 0.2, rng }).eval();
      const Wv = Array.from(await attention.W.data());
      const out = attention.forward(
        engine().fromArray(qv, [b, l, dq]),
        engine().fromArray(kv, [b, s, dk]),
        engine().fromArray(vv, [b, s, dv]),
        engine().fromArray(lens, [b, l], 'int32'),
      );
      const ref = scoringCpu(qv, kv, vv, Wv, dims, lens);
      expectClose(await out.data(), ref.out, { atol: 1e-5, what: 'output' });
      expectClose(await attention.attentionWeights!.data(), ref.weights, { atol: 1e-6, what: 'weights' });
      backward(out, engine().fromArray(dyv, out.shape));
      const objective = (W: number[]) =>
        scoringCpu(qv, kv, vv, W, dims, lens).out.reduce((a, y, i) => a + y * dyv[i], 0);
      const fd = Wv.map((_, i) => {
        const hi = Wv.slice();
        const lo = Wv.slice();
        hi[i] += 1e-6;
        lo[i] -= 1e-6;
        return (objective(hi) - objective(lo)) / 2e-6;
      });
      expectClose(await attention.W.grad!.data(), fd, { atol: 1e-4, what: 'dW' });
      expect(attention.namedTensors().map(([n, t]) => [n, t.shape])).toEqual([['W', [dq, dk]]]);
      attention.dispose();
    }));

  it('DotProductAttention({ scaled: false }) scores q·kᵀ, the default divides by √d', () =>
    engine().tidyAsync(async () => {
      const rng = new Random(22);
      const [qv, kv, vv] = [b * l * dq, b * s * dq, b * s * dv].map((n) => normals(n, rng));
      const q = engine().fromArray(qv, [b, l, dq]);
      const k = engine().fromArray(kv, [b, s, dq]);
      const v = engine().fromArray(vv, [b, s, dv]);
      const lensT = engine().fromArray(lens, [b, l], 'int32');
      for (const scaled of [false, true]) {
        const out = new DotProductAttention({ dropout: 0, scaled }).forward(q, k, v, lensT);
        const ref = scoringCpu(qv, kv, vv, null, [b, l, s, dq, dq, dv], lens, scaled ? 1 / Math.sqrt(dq) : 1);
        expectClose(await out.data(), ref.out, { atol: 1e-5, what: `scaled ${scaled}` });
      }
    }));

  it('names the module and the shapes on mismatched inputs', () =>
    engine().tidyAsync(async () => {
      const attention = new DotProductAttention({ dropout: 0 });
      const q = engine().empty([2, 3, 4]);
      expect(() => attention.forward(q, engine().empty([2, 5, 3]), engine().empty([2, 5, 2]))).toThrow(
        'DotProductAttention: queries and keys need one size D (got (2, 3, 4), (2, 5, 3), (2, 5, 2))',
      );
      expect(() => attention.forward(q, engine().empty([2, 5, 4]), engine().empty([2, 6, 2]))).toThrow(
        'DotProductAttention: batch sizes or key counts S',
      );
      expect(() => new DotProductAttention({ dropout: 1 })).toThrow(
        'DotProductAttention: dropout must be in [0, 1)',
      );
      expect(() => additiveScore(q, engine().empty([2, 5, 3]), engine().empty([4]))).toThrow(
        'additive_score:',
      );
    }));
});

describe('hard attention', () => {
  it('argmax selects the value row of the largest valid score, ignoring masked keys', () =>
    engine().tidyAsync(async () => {
      // (B, L, S) = (2, 2, 4); row (0, 1) ties keys 1 and 2; the maximum of row (1, 0) sits at key 3, past its
      // valid length 2.
      const x = engine().fromArray(
        [0.1, 0.9, 0.3, 0.2, 1, 5, 5, 0, 0.2, 0.1, 0.0, 9, 0.3, 0.4, 0.1, 0.2],
        [2, 2, 4],
      );
      const vv = Array.from({ length: 2 * 4 * 3 }, (_, i) => i);
      const v = engine().fromArray(vv, [2, 4, 3]);
      const none = hardAttention(x, v);
      expect(Array.from(await none.indices.data())).toEqual([1, 1, 3, 1]);
      expect(none.indices.dtype).toBe('int32');
      const { output, indices } = hardAttention(x, v, { validLens: [4, 2] });
      expect(Array.from(await indices.data())).toEqual([1, 1, 0, 1]);
      expect(output.shape).toEqual([2, 2, 3]);
      expect(Array.from(await output.data())).toEqual([3, 4, 5, 3, 4, 5, 12, 13, 14, 15, 16, 17]);
      // Per-row lengths mask each query separately.
      const perRow = hardAttention(x, v, {
        validLens: [
          [4, 1],
          [3, 4],
        ],
      });
      expect(Array.from(await perRow.indices.data())).toEqual([1, 0, 0, 1]);
    }));

  it('sampling is reproducible per seed and its frequencies match the weights', () =>
    engine().tidyAsync(async () => {
      const l = 20000;
      const probs = [0.1, 0.4, 0.05, 0.3, 0.15, 0.9];
      // The last key is masked away by the valid length 5: it must never be drawn.
      const x = engine().fromArray(Array.from({ length: l }, () => probs).flat(), [1, l, 6]);
      const v = engine().fromArray(
        Array.from({ length: 6 }, (_, j) => j * 10),
        [1, 6, 1],
      );
      const draw = (seed: number) => hardAttention(x, v, { mode: 'sample', seed, validLens: [5] });
      const a = draw(123);
      const idx = await a.indices.data();
      expect(Array.from(await draw(123).indices.data())).toEqual(Array.from(idx));
      expect(Array.from(await draw(124).indices.data())).not.toEqual(Array.from(idx));
      const counts = new Array(6).fill(0);
      idx.forEach((j) => counts[j]++);
      expect(counts[5]).toBe(0);
      probs.slice(0, 5).forEach((p, j) => expect(Math.abs(counts[j] / l - p)).toBeLessThan(0.015));
      expect(Array.from(await a.output.data())).toEqual(Array.from(idx, (j) => j * 10));
      // The CPU twin draws the same keys from dropoutUniform(seed, row).
      const u = dropoutUniform(123, 777);
      const cum = [0.1, 0.5, 0.55, 0.85, 1.0];
      expect(idx[777]).toBe(cum.findIndex((c) => c > u));
    }));

  it('throws a clear error when a gradient is requested through it', () =>
    engine().tidyAsync(async () => {
      const x = engine().fromArray([0.2, 0.8], [1, 1, 2]);
      x.requiresGrad = true;
      const v = engine().fromArray([1, 2], [1, 2, 1]);
      const { output } = hardAttention(mul(x, 2), v);
      expect(() => backward(sum(output))).toThrow('hard attention is not differentiable: ');
      expect(() => hardAttention(x, engine().fromArray([1, 2, 3], [1, 3, 1]))).toThrow(
        'hard_attention: values',
      );
    }));
});

it('attentionWeights belongs to the tidy scope of the forward call', () => {
  const attention = new DotProductAttention({ dropout: 0 });
  const q = engine().fromArray([1, 2], [1, 1, 2]);
  engine().tidy(() => attention.forward(q, q, q));
  expect(attention.attentionWeights!.disposed).toBe(true);
  q.dispose();
});
