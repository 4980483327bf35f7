/**
 * The software kernel set's fused attention backward with rows in named variables (shaders/sdpa_backward_dq_named.wgsl
 * and sdpa_backward_dkdv_named.wgsl, lib/sdpa_rows.wgsl) against the float64 reference: dq, dk and dv through
 * autograd and of the two kernels alone, on the awkward shapes of test/sdpa_backward_check.ts (head dims 4 to 64 and
 * D ≠ Dv; past 64 the _subgroup kernels run, checked too), rows past one workgroup's tile, lengths 0 and > S, causal,
 * dropout. Where the device has no subgroups of 8 to 64 lanes the plan keeps the other software kernels, and the
 * dispatch check says so by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useEngine } from './engine_fixture.js';
import { label, sdpaCase, subgroupKernels } from './sdpa_cases.js';
import { awkward, checkAutograd, checkKernels, rowLens } from './sdpa_backward_check.js';

const engine = useEngine('webgpu', { kernels: 'software' });
let subgroups = false;
beforeAll(() => {
  subgroups = subgroupKernels(engine());
});

const within64 = awkward.filter((c) => Math.max(c.inputs[0].shape[2], c.inputs[2].shape[2]) <= 64);
const cases = [
  ...within64,
  sdpaCase(
    'D = Dv = 64, several key and row tiles, per-row lens',
    [2, 300, 290, 64, 64],
    {},
    rowLens(2, 300, 290),
  ),
  sdpaCase(
    'D = 32, dropout + causal, per-batch lens',
    [3, 70, 90, 32, 32],
    { p: 0.2, seed: 4, causal: true },
    [90, 0, 33],
  ),
  sdpaCase('D = 36 ≠ Dv = 60', [2, 40, 24, 36, 60], {}, [24, 7]),
];

describe('sdpa backward, software kernel set: the _named dq and dk/dv kernels vs the float64 reference', () => {
  it('dispatches the _named kernels for head dims up to 64 and the _subgroup ones past it', async () => {
    const small = await checkAutograd(engine, sdpaCase('small', [2, 3, 5, 8, 4], {}, [5, 2]), 1);
    const large = await checkAutograd(engine, sdpaCase('D = 68', [1, 9, 10, 68, 8]), 2);
    const want = (named: boolean) =>
      subgroups
        ? named
          ? ['sdpa_backward_dq_named', 'sdpa_backward_dkdv_named']
          : ['sdpa_backward_dq_subgroup', 'sdpa_backward_dkdv_subgroup']
        : ['sdpa_backward_dq', 'sdpa_backward_dkdv'];
    expect(small).toEqual(expect.arrayContaining(want(true)));
    expect(large).toEqual(expect.arrayContaining(want(false)));
  });

  cases.forEach((c, i) => {
    it(`through autograd: ${label(c)}`, () => checkAutograd(engine, c, 8000 + i), 300_000);
  });

  cases.slice(0, 4).forEach((c, i) => {
    it(`the kernels alone: ${label(c)}`, () => checkKernels(engine, c, 9000 + i), 300_000);
  });
});
