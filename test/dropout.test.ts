/** Dropout: same seed, same mask (forward and backward); the dropped fraction is p; survivors scale by 1/(1−p). */
import { expect, it } from 'vitest';
import { dropout, nextSeed } from '../src/ops/dropout.js';
import { fill } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import { useEngine } from './engine_fixture.js';

useEngine();

it('drops the expected fraction, scales survivors and reproduces the mask from the seed', async () => {
  const n = 100_000;
  const x = fill([n], 1);
  x.requiresGrad = true;
  const y = dropout(x, 0.3, 1234);
  const a = await y.data();
  const b = await dropout(x, 0.3, 1234).data();
  const c = await dropout(x, 0.3, 1235).data();
  const zeros = a.filter((v) => v === 0).length;
  expect(zeros / n).toBeGreaterThan(0.29);
  expect(zeros / n).toBeLessThan(0.31);
  expect(a.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
  expect(Array.from(b)).toEqual(Array.from(a));
  expect(Array.from(c)).not.toEqual(Array.from(a));
  backward(sum(y));
  // The gradient sees the forward mask: zero exactly where y is zero.
  expect(Array.from(await x.grad!.data())).toEqual(Array.from(a));
});

it('draws u32 seeds and returns the input at p = 0', () => {
  const s = nextSeed();
  expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  const x = fill([3], 2);
  expect(dropout(x, 0)).toBe(x);
  expect(() => dropout(x, 1)).toThrow('dropout: p must be in [0, 1), got 1');
});
