/**
 * scaledDotProductAttention: the fused FlashAttention-2 kernels against the unfused composition (matmul →
 * maskedSoftmax → dropout → matmul) on a covering set of awkward shapes, masks, causal and dropout (forward and all
 * three gradients); d2l's masking semantics (valid length 0 is uniform, masked keys get exactly zero gradient); the
 * dropout mask and rate; the returned weights; no (L × S) buffer on the fused path; errors.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { scaledDotProductAttention, type SdpaOptions } from '../src/ops/attention.js';
import { sdpaBackwardDkdv, sdpaBackwardDq } from '../src/ops/sdpa_fused.js';
import { mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import { runReference, type CpuTensor } from '../src/runtime/op.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const engine = useEngine();

interface Case {
  b: number;
  l: number;
  s: number;
  d: number;
  dv?: number;
  options?: SdpaOptions;
}

const label = (c: Case) =>
  `B=${c.b} L=${c.l} S=${c.s} D=${c.d} Dv=${c.dv ?? c.d} ${JSON.stringify(c.options ?? {})}`;

interface Result {
  o: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Output and the gradients of Σ output ∘ r for q, k, v on one path; same random inputs for a given seed. */
async function run(c: Case, fused: boolean, seed = 7): Promise<Result> {
  const rng = new Random(seed);
  const dv = c.dv ?? c.d;
  return engine().tidyAsync(async () => {
    const q = engine().fromArray(rng.normalArray(c.b * c.l * c.d), [c.b, c.l, c.d]);
    const k = engine().fromArray(rng.normalArray(c.b * c.s * c.d), [c.b, c.s, c.d]);
    const v = engine().fromArray(rng.normalArray(c.b * c.s * dv), [c.b, c.s, dv]);
    const r = engine().fromArray(rng.normalArray(c.b * c.l * dv), [c.b, c.l, dv]);
    for (const t of [q, k, v]) t.requiresGrad = true;
    const { output } = scaledDotProductAttention(q, k, v, { ...c.options, fused });
    backward(sum(mul(output, r)));
    const [o, dq, dk, dvv] = await Promise.all([output, q.grad!, k.grad!, v.grad!].map((t) => t.data()));
    return { o, dq, dk, dv: dvv } as Result;
  });
}

async function expectFusedEqualsUnfused(c: Case): Promise<Result> {
  const fused = await run(c, true);
  const unfused = await run(c, false);
  for (const key of ['o', 'dq', 'dk', 'dv'] as const)
    expectClose(fused[key], unfused[key], { atol: 2e-5, rtol: 1e-3, what: `${label(c)} ${key}` });
  return fused;
}

describe('fused = unfused, forward and the gradients of q, k, v', () => {
  // Every L and S in {1, 7, 64, 129} and every D in {8, 32, 100, 128} appears; Dv 7 and 12 take the padded path.
  const shapes: Case[] = [
    { b: 2, l: 1, s: 7, d: 8 },
    { b: 3, l: 7, s: 1, d: 32, dv: 12 },
    { b: 2, l: 64, s: 129, d: 100, dv: 7 },
    { b: 2, l: 129, s: 64, d: 128 },
    { b: 2, l: 129, s: 129, d: 8, dv: 20 },
  ];
  it.each(shapes.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    await expectFusedEqualsUnfused(c);
  });

  it('1-D validLens 0, 1, S and > S', async () => {
    await expectFusedEqualsUnfused({ b: 4, l: 7, s: 64, d: 32, options: { validLens: [0, 1, 64, 100] } });
  });

  it('2-D validLens with 0 and > S', async () => {
    const lens = [
      [0, 3, 7, 9, 1, 2, 0],
      [7, 7, 0, 4, 100, 1, 5],
    ];
    await expectFusedEqualsUnfused({ b: 2, l: 7, s: 7, d: 8, options: { validLens: lens } });
  });

  it('causal with L < S and L > S, alone and with validLens', async () => {
    await expectFusedEqualsUnfused({ b: 2, l: 7, s: 129, d: 32, options: { causal: true } });
    await expectFusedEqualsUnfused({
      b: 2,
      l: 129,
      s: 7,
      d: 8,
      options: { causal: true, validLens: [5, 0] },
    });
  });

  it('an unscaled dot product (scale 1)', async () => {
    await expectFusedEqualsUnfused({ b: 2, l: 7, s: 7, d: 8, options: { scale: 1, validLens: [3, 7] } });
  });

  it('L and S past one workgroup (several tiles in every kernel)', async () => {
    await expectFusedEqualsUnfused({ b: 2, l: 530, s: 600, d: 8, options: { validLens: [600, 299] } });
  });

  it('head dims past 64, key blocks past the valid length (the dk/dv kernel skips them), length 0', async () => {
    await expectFusedEqualsUnfused({
      b: 3,
      l: 20,
      s: 200,
      d: 100,
      dv: 7,
      options: { validLens: [200, 70, 0] },
    });
  });

  it('dropout: the same seed drops the same weights on both paths, with masks and causal', async () => {
    const options: SdpaOptions = { dropout: 0.3, seed: 1234, causal: true, validLens: [60, 0] };
    await expectFusedEqualsUnfused({ b: 2, l: 64, s: 64, d: 8, options });
    await expectFusedEqualsUnfused({ b: 2, l: 7, s: 129, d: 8, dv: 12, options: { dropout: 0.5, seed: 3 } });
  });
});

describe('d2l semantics', () => {
  it('drops a fraction p of the weights and scales the rest by 1/(1 − p)', async () => {
    // With v = I (S = Dv) the output is the dropped weight matrix itself; the weights come back undropped.
    const [b, l, s, p] = [2, 64, 64, 0.3];
    const rng = new Random(2);
    const eye = Array.from({ length: b * s * s }, (_, x) => (x % s === Math.floor(x / s) % s ? 1 : 0));
    const [dropped, weights] = await engine().tidyAsync(async () => {
      const q = engine().fromArray(rng.normalArray(b * l * 8), [b, l, 8]);
      const k = engine().fromArray(rng.normalArray(b * s * 8), [b, s, 8]);
      const out = scaledDotProductAttention(q, k, engine().fromArray(eye, [b, s, s]), {
        dropout: p,
        seed: 77,
        returnWeights: true,
      });
      return Promise.all([out.output.data(), out.weights!.data()]);
    });
    let zeros = 0;
    for (let x = 0; x < dropped.length; x++) {
      if (dropped[x] === 0) zeros++;
      else expect(dropped[x] / weights[x]).toBeCloseTo(1 / (1 - p), 4);
    }
    expect(Math.abs(zeros / dropped.length - p)).toBeLessThan(0.02);
  });

  it('a valid length of 0 averages all S keys uniformly; its row gives q and k no gradient', async () => {
    const c: Case = { b: 2, l: 3, s: 5, d: 8, options: { validLens: [0, 2] } };
    const r = await run(c, true, 9);
    const rng = new Random(9);
    rng.normalArray(2 * 3 * 8 + 2 * 5 * 8);
    const v = rng.normalArray(2 * 5 * 8);
    for (let i = 0; i < 3; i++)
      for (let e = 0; e < 8; e++) {
        const mean = [0, 1, 2, 3, 4].reduce((acc, j) => acc + v[j * 8 + e], 0) / 5;
        expect(r.o[i * 8 + e]).toBeCloseTo(mean, 5);
      }
    expect(Array.from(r.dq.slice(0, 24)).every((x) => x === 0)).toBe(true);
    expect(Array.from(r.dk.slice(0, 40)).every((x) => x === 0)).toBe(true);
  });

  it('masked keys receive exactly zero dK and dV', async () => {
    for (const fused of [true, false]) {
      const r = await run({ b: 2, l: 5, s: 9, d: 8, options: { validLens: [4, 9], causal: true } }, fused, 3);
      expect(Array.from(r.dk.slice(4 * 8, 9 * 8)).every((x) => x === 0)).toBe(true);
      expect(Array.from(r.dv.slice(4 * 8, 9 * 8)).every((x) => x === 0)).toBe(true);
      // Causal: row 0..4 of batch 1 never see keys 5..8.
      expect(Array.from(r.dv.slice((9 + 5) * 8, 18 * 8)).every((x) => x === 0)).toBe(true);
    }
  });

  it('returned weights are rows of a distribution and equal the unfused ones', async () => {
    const rng = new Random(5);
    const qv = rng.normalArray(2 * 6 * 12);
    const kv = rng.normalArray(2 * 10 * 12);
    const opts: SdpaOptions = {
      validLens: [
        [3, 0, 10, 12, 1, 4],
        [10, 9, 8, 7, 6, 5],
      ],
      causal: true,
      dropout: 0.5,
    };
    const [fused, unfused] = await engine().tidyAsync(async () => {
      const q = engine().fromArray(qv, [2, 6, 12]);
      const k = engine().fromArray(kv, [2, 10, 12]);
      const a = scaledDotProductAttention(q, k, k, { ...opts, returnWeights: true, fused: true });
      const b = scaledDotProductAttention(q, k, k, { ...opts, returnWeights: true, fused: false });
      return Promise.all([a.weights!.data(), b.weights!.data()]);
    });
    expectClose(fused, unfused, { atol: 1e-6, what: 'weights' });
    for (let row = 0; row < 12; row++) {
      const w = Array.from(fused.slice(row * 10, row * 10 + 10));
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    // Row 1 of batch 0 has valid length 0: exactly uniform, as d2l's −1e6 replacement gives.
    expect(Array.from(fused.slice(10, 20))).toEqual(new Array(10).fill(Math.fround(0.1)));
  });
});

describe('the backward kernels against their float64 references', () => {
  it('dq, dk and dv with per-row lengths, causal and dropout', async () => {
    const [b, l, s, d, dv] = [2, 9, 11, 8, 4];
    const attrs = { causal: true, scale: 0.4, p: 0.25, seed: 31 };
    const rng = new Random(13);
    const vals = [b * l * d, b * s * d, b * s * dv, b * l * dv].map((n) => Array.from(rng.normalArray(n)));
    const lensVals = Array.from({ length: b * l }, (_, i) => (i * 5) % 13);
    const shapes = [
      [b, l, d],
      [b, s, d],
      [b, s, dv],
      [b, l, dv],
    ];
    const got = await engine().tidyAsync(async () => {
      const [q, k, v, dy] = vals.map((x, i) => engine().fromArray(x, shapes[i]));
      for (const t of [q, k, v]) t.requiresGrad = true;
      const lens = engine().fromArray(lensVals, [b, l], 'int32');
      const { output } = scaledDotProductAttention(q, k, v, {
        validLens: lens,
        causal: true,
        scale: 0.4,
        dropout: 0.25,
        seed: 31,
      });
      backward(output, dy);
      return Promise.all([q, k, v].map((t) => (t.grad as Tensor).data()));
    });
    const cpu: CpuTensor[] = vals.map((x, i) => ({ shape: shapes[i], data: Float64Array.from(x) }));
    const lensCpu = { shape: [b, l], dtype: 'int32' as const, data: lensVals };
    const args = [...cpu, { shape: [b, l, 2], data: [] }, lensCpu];
    const [dq] = runReference(sdpaBackwardDq, args, attrs);
    const [dk, dvRef] = runReference(sdpaBackwardDkdv, args, attrs);
    expectClose(got[0], dq, { atol: 1e-5, what: 'dq' });
    expectClose(got[1], dk, { atol: 1e-5, what: 'dk' });
    expectClose(got[2], dvRef, { atol: 1e-5, what: 'dv' });
  });
});

describe('memory and errors', () => {
  it('the fused forward and backward allocate no (L × S) buffer; the unfused path does', async () => {
    const [b, l, d] = [2, 1024, 16];
    const scoresBytes = b * l * l * 4; // 8 MiB, against 128 KiB per input
    const peak = (fused: boolean) =>
      engine().tidyAsync(async () => {
        const rng = new Random(11);
        const [q, k, v] = [0, 1, 2].map(() => engine().fromArray(rng.normalArray(b * l * d), [b, l, d]));
        for (const t of [q, k, v]) t.requiresGrad = true;
        const before = engine().memoryStats().inUseBytes;
        engine().pool!.resetPeak();
        const { output } = scaledDotProductAttention(q, k, v, {
          validLens: [700, 1024],
          dropout: 0.1,
          fused,
        });
        backward(sum(output));
        await q.grad!.data();
        return engine().memoryStats().peakBytes - before;
      });
    expect(await peak(true)).toBeLessThan(scoresBytes / 4);
    expect(await peak(false)).toBeGreaterThanOrEqual(scoresBytes);
  });

  it('shape errors name the op and every shape', () => {
    engine().tidy(() => {
      const q = engine().fromArray(new Array(24).fill(0), [2, 3, 4]);
      const k = engine().fromArray(new Array(40).fill(0), [2, 5, 4]);
      const v = engine().fromArray(new Array(30).fill(0), [2, 5, 3]);
      const k3 = engine().fromArray(new Array(30).fill(0), [2, 5, 3]);
      expect(() => scaledDotProductAttention(q, k3, v)).toThrow(
        'scaled_dot_product_attention: q and k must have one head dim D (got (2, 3, 4), (2, 5, 3), (2, 5, 3))',
      );
      expect(() => scaledDotProductAttention(q, k, v, { validLens: [1, 2, 3] })).toThrow(
        /^scaled_dot_product_attention: validLens must be \(B\) or \(B, L\) \(got \(2, 3, 4\), \(2, 5, 4\), \(2, 5, 3\), \(3,\)\)$/,
      );
      expect(() => scaledDotProductAttention(q, k, v, { dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    });
  });

  it('head dims above 128 run on the unfused path', async () => {
    const c: Case = { b: 2, l: 3, s: 4, d: 132, dv: 4 };
    const a = await run(c, true);
    const b = await run(c, false);
    expect(Array.from(a.o)).toEqual(Array.from(b.o));
  });
});
