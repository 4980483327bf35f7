/**
 * Optimizers on WebGPU and on the CPU reference: a few steps on a quadratic against independent float64
 * implementations of PyTorch's update rules, gradient clipping, and the memory they own.
 */
import { describe, expect, it } from 'vitest';
import { mul, square, sub } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { Adam, AdamW } from '../src/optim/adam.js';
import { clipGradNorm } from '../src/optim/clip.js';
import type { Optimizer } from '../src/optim/optimizer.js';
import { SGD } from '../src/optim/sgd.js';
import { backward } from '../src/ops/autograd.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { BACKENDS, useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

// f(p) = ½ Σ a·(p − c)², ∇f = a·(p − c): curvatures and optima far enough from p0 that no gradient is near 0.
const P0 = [0.5, -1, 2, 0.25, -0.75];
const A = [1, 3, 0.5, 2, 4];
const C = [2, 1, -1, -2, 0.5];
const STEPS = 6;

const gradAt = (p: number[]) => p.map((v, i) => A[i] * (v - C[i]));

/** torch.optim.Adam / AdamW (docs pseudocode), float64. */
function adamRef(
  lr: number,
  wd: number,
  decoupled: boolean,
  beta1 = 0.9,
  beta2 = 0.999,
  eps = 1e-8,
): number[] {
  const p = [...P0];
  const m = P0.map(() => 0);
  const v = P0.map(() => 0);
  for (let t = 1; t <= STEPS; t++) {
    const g = gradAt(p);
    for (let i = 0; i < p.length; i++) {
      if (decoupled) p[i] -= lr * wd * p[i];
      else g[i] += wd * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2;
      const mHat = m[i] / (1 - beta1 ** t);
      const vHat = v[i] / (1 - beta2 ** t);
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  return p;
}

/** torch.optim.SGD with dampening 0, no Nesterov, float64. */
function sgdRef(lr: number, wd: number, momentum: number): number[] {
  const p = [...P0];
  const b = P0.map(() => 0);
  for (let t = 1; t <= STEPS; t++) {
    const g = gradAt(p);
    for (let i = 0; i < p.length; i++) {
      let d = g[i] + wd * p[i];
      if (momentum > 0) d = b[i] = t === 1 ? d : momentum * b[i] + d;
      p[i] -= lr * d;
    }
  }
  return p;
}

describe.each(BACKENDS)('optimizers on %s', (backend) => {
  const engine = useEngine(backend);

  /** Runs STEPS steps of `make`'s optimizer on the quadratic (autograd for ∇f) and returns p. */
  async function train(make: (params: Tensor[]) => Optimizer): Promise<Float32Array> {
    const p = engine().fromArray(P0, [P0.length]);
    p.requiresGrad = true;
    const [a, c] = [engine().fromArray(A, [A.length]), engine().fromArray(C, [C.length])];
    const opt = make([p]);
    const start = engine().memoryStats().tensors;
    for (let t = 0; t < STEPS; t++)
      engine().tidy(() => {
        opt.zeroGrad();
        backward(mul(sum(mul(a, square(sub(p, c)))), 0.5));
        opt.step();
      });
    const out = (await p.data()) as Float32Array;
    opt.zeroGrad();
    opt.dispose();
    expect(engine().memoryStats().tensors, 'steps leak nothing; dispose() frees the optimizer state').toBe(
      start,
    );
    for (const t of [p, a, c]) t.dispose();
    return out;
  }

  const close = { atol: 1e-5, rtol: 1e-4 };

  it('Adam matches torch.optim.Adam (L2 weight decay)', async () => {
    const p = await train((ps) => new Adam(ps, { lr: 0.1, weightDecay: 0.3 }));
    expectClose(p, adamRef(0.1, 0.3, false), { ...close, what: 'Adam p' });
  });

  it('Adam without weight decay, other betas and eps', async () => {
    const p = await train((ps) => new Adam(ps, { lr: 0.05, betas: [0.8, 0.99], eps: 1e-3 }));
    expectClose(p, adamRef(0.05, 0, false, 0.8, 0.99, 1e-3), { ...close, what: 'Adam p' });
  });

  it('AdamW matches torch.optim.AdamW (decoupled weight decay) and differs from Adam', async () => {
    const p = await train((ps) => new AdamW(ps, { lr: 0.1, weightDecay: 0.3 }));
    expectClose(p, adamRef(0.1, 0.3, true), { ...close, what: 'AdamW p' });
    const l2 = adamRef(0.1, 0.3, false);
    expect(Math.max(...Array.from(p, (v, i) => Math.abs(v - l2[i])))).toBeGreaterThan(1e-3);
  });

  it('AdamW defaults to weightDecay 1e-2', async () => {
    const p = await train((ps) => new AdamW(ps));
    expectClose(p, adamRef(1e-3, 1e-2, true), { ...close, what: 'AdamW p' });
  });

  it('SGD matches torch.optim.SGD, with weight decay and with momentum', async () => {
    expectClose(await train((ps) => new SGD(ps, { lr: 0.1 })), sgdRef(0.1, 0, 0), { ...close, what: 'SGD' });
    expectClose(await train((ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.2 })), sgdRef(0.1, 0.2, 0), {
      ...close,
      what: 'SGD weight decay',
    });
    expectClose(
      await train((ps) => new SGD(ps, { lr: 0.05, weightDecay: 0.2, momentum: 0.9 })),
      sgdRef(0.05, 0.2, 0.9),
      { ...close, what: 'SGD momentum' },
    );
  });

  it('skips parameters without a gradient and allocates no state for them', async () => {
    const used = engine().fromArray([1, 2], [2]);
    const unused = engine().fromArray([3, 4], [2]);
    used.requiresGrad = unused.requiresGrad = true;
    const opt = new Adam([used, unused], { lr: 0.1 });
    engine().tidy(() => backward(sum(used)));
    const before = engine().memoryStats().tensors;
    opt.step();
    expect(engine().memoryStats().tensors - before, 'm and v of `used` only').toBe(2);
    expect(Array.from(await unused.data())).toEqual([3, 4]);
    // First Adam step moves each coordinate by lr against the gradient's sign.
    expectClose(await used.data(), [0.9, 1.9], { atol: 1e-6, what: 'used' });
    opt.zeroGrad();
    opt.dispose();
    used.dispose();
    unused.dispose();
  });

  it('zeroGrad frees the gradients', () => {
    const p = engine().fromArray([1, 2, 3], [3]);
    const q = engine().fromArray([4], [1]);
    p.requiresGrad = q.requiresGrad = true;
    engine().tidy(() => backward(sum(mul(sum(p), q))));
    expect(p.grad && q.grad).toBeTruthy();
    const before = engine().memoryStats().tensors;
    new SGD([p, q], { lr: 1 }).zeroGrad();
    expect(p.grad).toBeNull();
    expect(q.grad).toBeNull();
    expect(engine().memoryStats().tensors).toBe(before - 2);
    p.dispose();
    q.dispose();
  });

  it('clipGradNorm scales all gradients to the max norm, and leaves them alone below it', async () => {
    const p = engine().fromArray([0, 0], [2]);
    const q = engine().fromArray([0], [1, 1]);
    const noGrad = engine().fromArray([0], [1]);
    p.grad = engine().fromArray([3, 4], [2]).keep();
    q.grad = engine().fromArray([-12], [1, 1]).keep();
    const before = engine().memoryStats().tensors;
    const big = clipGradNorm([p, q, noGrad], 100);
    expect(big.shape).toEqual([]);
    expect(await big.item()).toBeCloseTo(13, 5);
    expect(Array.from(await p.grad.data())).toEqual([3, 4]);
    expect(Array.from(await q.grad.data())).toEqual([-12]);
    const total = clipGradNorm([p, q, noGrad], 1);
    expect(await total.item()).toBeCloseTo(13, 5);
    expectClose(await p.grad.data(), [3 / 13, 4 / 13], { atol: 1e-6, what: 'p.grad' });
    expectClose(await q.grad.data(), [-12 / 13], { atol: 1e-6, what: 'q.grad' });
    // Only the returned norms outlive the call.
    expect(engine().memoryStats().tensors).toBe(before + 2);
    const zero = clipGradNorm([noGrad], 1);
    expect(await zero.item()).toBe(0);
    for (const t of [big, total, zero, p, q, noGrad]) t.dispose();
  });

  it('rejects invalid hyperparameters', () => {
    expect(() => new SGD([], { lr: -1 })).toThrow('SGD: invalid learning rate: -1');
    expect(() => new Adam([], { betas: [0.9, 1] })).toThrow(/Adam: invalid beta parameter at index 1/);
    expect(() => new AdamW([], { eps: -1 })).toThrow(/AdamW: invalid epsilon/);
  });
});
