/**
 * BatchNorm1d in training mode against hand-computed numbers, on WebGPU and on the CPU reference: batch statistics
 * use the BIASED variance (÷N) to normalise, while the running variance takes the unbiased one (÷(N − 1)), as
 * `torch.nn.BatchNorm1d` does. Awkward shapes and the gradient check are in the generic registry test.
 */
import { describe, expect, it } from 'vitest';
import { batchNorm, updateRunningStats } from '../src/ops/batch_norm.js';
import { mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import { OpError } from '../src/runtime/op.js';
import { BACKENDS, useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

// x (N = 3, C = 2): channel 0 is 1, 3, 5 (mean 3, Σ(x − mean)² = 8); channel 1 is 2, 6, 10 (mean 6, Σ = 32).
const X = [1, 2, 3, 6, 5, 10];
const BIASED_VAR = [8 / 3, 32 / 3];
const UNBIASED_VAR = [4, 16];
// (x − mean)/√(8/3) = (−2, 0, 2)·√(3/8) = (−√1.5, 0, √1.5) in both channels; then ·gamma + beta.
const R = Math.sqrt(1.5);

describe.each(BACKENDS)('batchNorm on %s', (backend) => {
  const engine = useEngine(backend);

  it('normalises each channel with the batch mean and the biased variance', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray(X, [3, 2]);
      const gamma = engine().fromArray([1, 2], [2]);
      const beta = engine().fromArray([0, 1], [2]);
      const [y, mean, variance] = batchNorm(x, gamma, beta, 0);
      expectClose(await y.data(), [-R, -2 * R + 1, 0, 1, R, 2 * R + 1], { atol: 1e-6, what: 'y' });
      expectClose(await mean.data(), [3, 6], { atol: 1e-6, what: 'mean' });
      expectClose(await variance.data(), BIASED_VAR, { atol: 1e-6, what: 'var (biased)' });
    });
  });

  it('eps enters under the square root', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([0, 2], [2, 1]);
      const [y] = batchNorm(x, engine().fromArray([1], [1]), engine().fromArray([0], [1]), 3);
      // mean 1, biased var 1: (x − 1)/√(1 + 3) = ∓0.5
      expectClose(await y.data(), [-0.5, 0.5], { atol: 1e-6, what: 'y' });
    });
  });

  it('backward: dbeta = Σdy, dgamma = Σdy·x̂, and dx sums to zero per channel', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray(X, [3, 2]);
      const gamma = engine().fromArray([1, 2], [2]);
      const beta = engine().fromArray([0, 1], [2]);
      for (const t of [x, gamma, beta]) t.requiresGrad = true;
      const [y] = batchNorm(x, gamma, beta, 0);
      const w = engine().fromArray([1, 0, 2, 0, 3, 1], [3, 2]);
      backward(sum(mul(y, w)));
      // x̂ = (−R, 0, R) in both channels; dy = w.
      expectClose(await beta.grad!.data(), [6, 1], { atol: 1e-5, what: 'dbeta' });
      expectClose(await gamma.grad!.data(), [2 * R, R], { atol: 1e-5, what: 'dgamma' });
      const dx = await x.grad!.data();
      expect(Math.abs(dx[0] + dx[2] + dx[4])).toBeLessThan(1e-5);
      expect(Math.abs(dx[1] + dx[3] + dx[5])).toBeLessThan(1e-5);
      // Channel 0: dx = gamma·invstd/N·(N·dy − Σdy − x̂·Σdy·x̂) with invstd = √(3/8), Σdy = 6, Σdy·x̂ = 2R.
      const s = Math.sqrt(3 / 8) / 3;
      expectClose(
        [dx[0], dx[2], dx[4]],
        [3, 6, 9].map((n, k) => s * (n - 6 - [-R, 0, R][k] * 2 * R)),
        {
          atol: 1e-5,
          what: 'dx channel 0',
        },
      );
    });
  });

  it('updateRunningStats blends with momentum and keeps the unbiased variance', async () => {
    const runningMean = engine().fromArray([0, 0], [2]);
    const runningVar = engine().fromArray([1, 1], [2]);
    const mean = engine().fromArray([3, 6], [2]);
    const variance = engine().fromArray(BIASED_VAR, [2]);
    const before = engine().memoryStats().tensors;
    updateRunningStats(runningMean, runningVar, mean, variance, 3);
    expect(engine().memoryStats().tensors).toBe(before);
    expect(runningMean.requiresGrad || runningVar.requiresGrad).toBe(false);
    expectClose(await runningMean.data(), [0.3, 0.6], { atol: 1e-6, what: 'running mean' });
    // 0.9·1 + 0.1·(4, 16): n/(n − 1) turns the biased 8/3, 32/3 into the unbiased 4, 16.
    expectClose(
      await runningVar.data(),
      UNBIASED_VAR.map((u) => 0.9 + 0.1 * u),
      { atol: 1e-6, what: 'running var' },
    );
    updateRunningStats(runningMean, runningVar, mean, variance, 3, 0.5);
    expectClose(await runningMean.data(), [1.65, 3.3], { atol: 1e-6, what: 'running mean, momentum 0.5' });
    for (const t of [runningMean, runningVar, mean, variance]) t.dispose();
  });

  it('throws OpError for one row per channel and for shape mismatches', () => {
    engine().tidy(() => {
      const g = engine().fromArray([1, 1, 1], [3]);
      expect(() => batchNorm(engine().fromArray([1, 2, 3], [1, 3]), g, g)).toThrow(
        /batch_norm: expected more than 1 value per channel when training \(got \(1, 3\)/,
      );
      expect(() => batchNorm(engine().fromArray([1, 2, 3, 4], [2, 2]), g, g)).toThrow(OpError);
      expect(() => batchNorm(engine().fromArray([1, 2, 3], [3]), g, g)).toThrow(/expects x \(N, C\)/);
      expect(() =>
        batchNorm(engine().fromArray([1, 2, 3, 4, 5, 6], [2, 3]), g, engine().fromArray([1], [1])),
      ).toThrow(/\(2, 3\), \(3,\), \(1,\)/);
    });
  });
});
