/**
 * Fused scaled dot-product attention (FlashAttention-2 style) against the unfused path (matmul → maskedSoftmax →
 * dropout → matmul) on awkward shapes: L, S ∈ {1, 7, 64, 129}, D ∈ {8, 32, 100, 128}, 1-D and 2-D validLens with
 * 0 and > S, causal with L ≠ S, dropout with one seed; masked keys get exactly zero gradient; no (L × S) buffer
 * is allocated on the fused path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { scaledDotProductAttention, type SdpaOptions } from '../src/ops/attention.js';
import { mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/runtime/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { init } from '../src/runtime/global.js';
import { expectClose } from './helpers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await init('webgpu');
});
afterAll(() => engine?.destroy());

interface Case {
  b: number;
  l: number;
  s: number;
  d: number;
  dv?: number;
  options?: SdpaOptions;
}

/** Output and the gradients of Σ output·r for q, k, v, on one path. */
async function run(c: Case, fused: boolean, seed: number) {
  const rng = new Random(seed);
  const dv = c.dv ?? c.d;
  return engine.tidyAsync(async () => {
    const q = engine.fromArray(rng.normalArray(c.b * c.l * c.d), [c.b, c.l, c.d]);
    const k = engine.fromArray(rng.normalArray(c.b * c.s * c.d), [c.b, c.s, c.d]);
    const v = engine.fromArray(rng.normalArray(c.b * c.s * dv), [c.b, c.s, dv]);
    const r = engine.fromArray(rng.normalArray(c.b * c.l * dv), [c.b, c.l, dv]);
    for (const t of [q, k, v]) t.requiresGrad = true;
    const { output } = scaledDotProductAttention(q, k, v, { ...c.options, fused });
    backward(sum(mul(output, r)));
    return {
      o: await output.data(),
      dq: await q.grad!.data(),
      dk: await k.grad!.data(),
      dv: await v.grad!.data(),
    };
  });
}

async function expectFusedEqualsUnfused(c: Case) {
  const fused = await run(c, true, 7);
  const unfused = await run(c, false, 7);
  const tol = { atol: 2e-4, rtol: 2e-3 };
  expectClose(fused.o, unfused.o, { ...tol, what: 'output' });
  expectClose(fused.dq, unfused.dq, { ...tol, what: 'dq' });
  expectClose(fused.dk, unfused.dk, { ...tol, what: 'dk' });
  expectClose(fused.dv, unfused.dv, { ...tol, what: 'dv' });
}

const shapes: Case[] = [
  { b: 2, l: 1, s: 1, d: 8 },
  { b: 2, l: 7, s: 129, d: 32 },
  { b: 3, l: 64, s: 7, d: 100, dv: 13 },
  { b: 2, l: 129, s: 64, d: 128 },
  { b: 2, l: 129, s: 129, d: 8 },
  { b: 2, l: 1, s: 64, d: 100 },
];

describe('fused = unfused', () => {
  it.each(shapes)('B=$b L=$l S=$s D=$d', async (c) => expectFusedEqualsUnfused(c));

  it('with 1-D validLens including 0 and > S', async () =>
    expectFusedEqualsUnfused({ b: 4, l: 7, s: 64, d: 32, options: { validLens: [0, 1, 63, 100] } }));

  it('with 2-D validLens', async () =>
    expectFusedEqualsUnfused({
      b: 2,
      l: 3,
      s: 7,
      d: 8,
      options: {
        validLens: [
          [1, 0, 7],
          [9, 3, 2],
        ],
      },
    }));

  it('causal with L != S', async () => {
    await expectFusedEqualsUnfused({ b: 2, l: 7, s: 129, d: 32, options: { causal: true } });
    await expectFusedEqualsUnfused({ b: 2, l: 64, s: 7, d: 8, options: { causal: true, validLens: [5, 2] } });
  });

  it('with dropout: the same seed gives the same mask on both paths', async () =>
    expectFusedEqualsUnfused({ b: 2, l: 64, s: 64, d: 32, options: { dropout: 0.3, seed: 99 } }));
});

describe('masks and memory', () => {
  it('masked keys and values receive exactly zero gradient', async () => {
    const c: Case = { b: 2, l: 5, s: 9, d: 8, options: { validLens: [4, 9] } };
    const r = await run(c, true, 3);
    // Batch 0 keys 4..8 are masked for every query.
    for (let j = 4; j < 9; j++)
      for (let e = 0; e < 8; e++) {
        expect(r.dk[j * 8 + e]).toBe(0);
        expect(r.dv[j * 8 + e]).toBe(0);
      }
  });

  it('returned weights are rows of a distribution, zero beyond the valid length', async () => {
    await engine.tidyAsync(async () => {
      const rng = new Random(5);
      const q = engine.fromArray(rng.normalArray(2 * 6 * 8), [2, 6, 8]);
      const k = engine.fromArray(rng.normalArray(2 * 10 * 8), [2, 10, 8]);
      const { weights } = scaledDotProductAttention(q, k, k, { validLens: [3, 10], returnWeights: true });
      const w = await weights!.data();
      for (let row = 0; row < 12; row++) {
        const vals = Array.from(w.slice(row * 10, row * 10 + 10));
        expect(vals.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        if (row < 6) expect(vals.slice(3).every((x) => x === 0)).toBe(true);
      }
    });
  });

  it('the fused forward and backward allocate no (L × S) buffer', async () => {
    const [b, l, d] = [2, 1024, 16];
    const scoresBytes = b * l * l * 4; // 8 MiB
    await engine.tidyAsync(async () => {
      const rng = new Random(11);
      const q = engine.fromArray(rng.normalArray(b * l * d), [b, l, d]);
      const k = engine.fromArray(rng.normalArray(b * l * d), [b, l, d]);
      const v = engine.fromArray(rng.normalArray(b * l * d), [b, l, d]);
      for (const t of [q, k, v]) t.requiresGrad = true;
      engine.memoryStats();
      engine.pool!.resetPeak();
      const before = engine.memoryStats().inUseBytes;
      const { output } = scaledDotProductAttention(q, k, v, { validLens: [700, 1024] });
      backward(sum(output));
      await q.grad!.data();
      const peak = engine.memoryStats().peakBytes - before;
      expect(peak).toBeLessThan(scoresBytes / 4);
    });
  });
});
