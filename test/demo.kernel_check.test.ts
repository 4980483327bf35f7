/**
 * The demo's kernel check in Node (Dawn): the size multiplier scales every dimension above 1 and keeps broadcast
 * dims, stays within its element budget, leaves fixed-value cases alone, and scaled cases still pass against the
 * CPU reference (a wrong scaling, e.g. of a contracted dim on one side only, would throw or fail).
 */
import { expect, it } from 'vitest';
import { checkGradient } from '../demo/gradient_check.js';
import { checkCase, kernelCases, scaledCase } from '../demo/kernel_check.js';
import { registry } from '../src/ops/registry.js';
import type { OpCase } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';

const engine = useEngine();

const shapes = (c: OpCase<unknown>) => c.inputs.map((s) => s.shape);

it('scales dims above 1, keeps 1-sized ones, and respects fixed values and the element budget', () => {
  const mm = registry.matmul.cases;
  expect(shapes(scaledCase(mm[2], 4).c)).toEqual([
    [1, 256],
    [256, 1],
  ]);
  expect(scaledCase(mm[8], 2)).toMatchObject({ factor: 2 });
  expect(shapes(scaledCase(mm[8], 2).c)).toEqual([
    [1, 12, 10],
    [6, 10, 4],
  ]);
  const withValues = { inputs: [{ shape: [2, 3], fill: { values: [1, 2, 3, 4, 5, 6] } }], attrs: {} };
  expect(scaledCase(withValues, 4)).toEqual({ c: withValues, factor: 1 });
  // 2 × 600² elements ×4 would be 11.5 M: the largest factor within 2^20 elements is 1.
  const big = { inputs: [{ shape: [600, 600] }, { shape: [600, 600] }], attrs: {} };
  expect(scaledCase(big, 4).factor).toBe(1);
  const mid = { inputs: [{ shape: [300, 300] }], attrs: {} };
  expect(scaledCase(mid, 4).factor).toBe(3);
});

it('passes scaled matmul, masked softmax and attention cases on WebGPU', { timeout: 120_000 }, async () => {
  const picked = kernelCases().filter(
    ({ op, index }) => ['matmul', 'masked_softmax', 'sdpa_forward'].includes(op) && index < 4,
  );
  expect(picked.length).toBeGreaterThan(6);
  for (const { op, def, index } of picked) {
    const r = await checkCase(engine(), op, def, index, 2);
    expect(r, `${op} case ${index}: ${r.error ?? ''}`).toMatchObject({ pass: true });
  }
  const r = await checkCase(engine(), 'matmul', registry.matmul, 1, 2);
  expect(r).toMatchObject({ scale: 2, shapes: '(14, 26) (26, 10)', pass: true });
});

it('names each row by its function: unary tanh, binary add backward', { timeout: 60_000 }, async () => {
  const tanh = registry.unary.cases.findIndex((c) => c.name === 'tanh');
  const add = registry.binary.cases.findIndex((c) => c.name === 'add');
  expect(await checkCase(engine(), 'unary', registry.unary, tanh)).toMatchObject({
    op: 'unary tanh',
    pass: true,
  });
  expect(await checkGradient(engine(), 'binary', registry.binary, add)).toMatchObject({
    op: 'binary add backward',
    pass: true,
  });
});
