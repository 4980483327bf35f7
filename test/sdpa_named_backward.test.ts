/**
 * The software kernel set's fused attention backward with rows in named variables (shaders/sdpa_backward_dq_named.wgsl
 * and sdpa_backward_dkdv_named.wgsl, lib/sdpa_rows.wgsl) against the float64 reference: dq, dk and dv through
 * autograd and of the two kernels alone, on the awkward shapes of test/sdpa_backward_check.ts (head dims 4 to 64 and
 * D ≠ Dv; past 64 the _subgroup kernels run, checked too), rows past one workgroup's tile, lengths 0 and > S, causal,
 * dropout. Where the device has no subgroups of 4 (8 for _subgroup) to 64 lanes the plan keeps the other software
 * kernels, and the dispatch check says so by name. A few cases run again with the adapter reporting SwiftShader's
 * 4-lane subgroups, so that the kernels share rows over 4 lanes (lavapipe's 8-lane subgroups run them correctly).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useEngine } from './engine_fixture.js';
import { label, namedKernels, sdpaCase, subgroupKernels } from './sdpa_cases.js';
import { awkward, checkAutograd, checkKernels, rowLens } from './sdpa_backward_check.js';
import { reportSubgroupSizes } from './helpers.js';

const engine = useEngine('webgpu', { kernels: 'software' });
let subgroups = false;
let named = false;
beforeAll(() => {
  subgroups = subgroupKernels(engine());
  named = namedKernels(engine());
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
    const suffix = (isNamed: boolean) => (isNamed && named ? '_named' : subgroups ? '_subgroup' : '');
    const want = (isNamed: boolean) =>
      ['sdpa_forward', 'sdpa_backward_dq', 'sdpa_backward_dkdv'].map((k) => k + suffix(isNamed));
    expect(small.map((d) => d.kernel)).toEqual(expect.arrayContaining(want(true)));
    expect(large.map((d) => d.kernel)).toEqual(expect.arrayContaining(want(false)));
    for (const d of small.filter((x) => x.kernel.endsWith('_named'))) expect(d.shareLanes).toBe(8);
  });

  cases.forEach((c, i) => {
    it(`through autograd: ${label(c)}`, () => checkAutograd(engine, c, 8000 + i), 300_000);
  });

  cases.slice(0, 4).forEach((c, i) => {
    it(`the kernels alone: ${label(c)}`, () => checkKernels(engine, c, 9000 + i), 300_000);
  });
});

// Subgroups of 4 to 8 lanes: rows shared over 4, keys and query rows walked one at a time. Of 4 lanes only
// (SwiftShader): blocks of 4 written out, 8 rows per thread. lavapipe takes one to two minutes to compile each of
// those kernels at head dim 64, so the cases here keep the head dims small; the bench's Chrome cases, checked against
// the CPU reference in CI (`npm run bench -- --quick`: D = 32 and 64), run them at 64.
const smallHeads = [
  sdpaCase('D = 12 ≠ Dv = 20, per-batch lens with 0 and > S', [3, 17, 33, 12, 20], {}, [0, 40, 9]),
  sdpaCase('L = 63, S = 65, per-row lens', [2, 63, 65, 8, 8], {}, rowLens(2, 63, 65)),
  sdpaCase('dropout + causal, L > S, several key groups', [2, 50, 37, 4, 4], {
    p: 0.6,
    seed: 99,
    causal: true,
  }),
];
describe.each([
  [4, 8, 0, [cases[0], cases[7], cases[cases.length - 3], cases[cases.length - 2]]],
  [4, 4, 1, smallHeads],
] as const)(
  'sdpa forward + backward with rows shared over 4 lanes (the adapter reports subgroups of %i to %i lanes; blocks written out: %i)',
  (min, max, written, fourLaneCases) => {
    let restore = () => {};
    beforeAll(() => {
      restore = reportSubgroupSizes(engine(), min, max);
    });
    afterAll(() => restore());
    fourLaneCases.forEach((c, i) => {
      it(`through autograd: ${label(c)}`, async () => {
        const dispatched = await checkAutograd(engine, c, 8500 + 10 * written + i);
        const namedOnes = dispatched.filter((d) => d.kernel.endsWith('_named'));
        expect(namedOnes.map((d) => d.kernel).sort()).toEqual(
          named ? ['sdpa_backward_dkdv_named', 'sdpa_backward_dq_named', 'sdpa_forward_named'] : [],
        );
        for (const d of namedOnes) {
          expect(d.shareLanes).toBe(4);
          expect(d.written).toBe(written);
          if (written) expect(d.rows).toBe(8);
        }
      }, 300_000);
    });
  },
);
