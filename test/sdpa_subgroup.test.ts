/**
 * The software set's subgroup attention forwards against the float64 reference on awkward shapes: L and S off the
 * 4- and 8-key blocks and the row tile, lens modes 0 / 1 / 2 with 0 and > S, causal with L ≠ S, dropout, D ≠ Dv up
 * to 128. Head dims up to 64 take shaders/sdpa_forward_named.wgsl (rows in named variables), larger ones
 * sdpa_forward_subgroup.wgsl; where the device has no subgroups of 8 to 64 lanes (4 to 64 for _named) the plan
 * keeps sdpa_forward.wgsl, and these cases check that one. The _named cases run again with the adapter reporting
 * SwiftShader's 4-lane subgroups (rows shared over 4 lanes). Cases are few and mostly L ≤ 64 (one pipeline per WG,
 * CAUSAL, DROPOUT, head dims): lavapipe takes about 20 s to compile each subgroup pipeline.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sdpaForward } from '../src/ops/sdpa_fused.js';
import type { SdpaAttrs } from '../src/ops/sdpa_reference.js';
import { apply, runReference, type OpCase } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { label, namedKernels, sdpaCase, subgroupKernels } from './sdpa_cases.js';
import { drawCase, expectClose, reportSubgroupSizes, upload } from './helpers.js';

const engine = useEngine('webgpu', { kernels: 'software' });
let subgroups = false;
let named = false;
beforeAll(() => {
  subgroups = subgroupKernels(engine());
  named = namedKernels(engine());
});

/**
 * The kernel the plan should take for this case, the lanes a _named one shares rows over, and whether it writes a
 * block's keys out (KEYS_WRITTEN: where every subgroup has 4 lanes).
 */
function expected(
  c: OpCase<SdpaAttrs>,
  lanes: number,
  keysWritten: number,
): { kernel: string; share?: number; keysWritten?: number } {
  if (named && Math.max(c.inputs[0].shape[2], c.inputs[2].shape[2]) <= 64)
    return { kernel: 'sdpa_forward_named', share: lanes, keysWritten };
  return { kernel: subgroups ? 'sdpa_forward_subgroup' : 'sdpa_forward' };
}

async function check(c: OpCase<SdpaAttrs>, seed: number, lanes = 8, keysWritten = 0): Promise<void> {
  const { values, cpuIn } = drawCase(c, seed);
  const [o, lse] = runReference(sdpaForward, cpuIn, c.attrs);
  const spy = vi.spyOn(engine(), 'dispatch');
  try {
    await engine().tidyAsync(async () => {
      const outs = apply(
        sdpaForward,
        c.inputs.map((s, k) => upload(engine(), s, values[k])),
        c.attrs,
      );
      expectClose(await outs[0].data(), o, { what: `${label(c)} o` });
      expectClose(await outs[1].data(), lse, { what: `${label(c)} lse` });
    });
    const want = expected(c, lanes, keysWritten);
    expect(spy.mock.calls.map(([kernel]) => kernel)).toEqual([want.kernel]);
    expect(spy.mock.calls[0][1].constants?.SHARE_LANES).toBe(want.share);
    expect(spy.mock.calls[0][1].constants?.KEYS_WRITTEN).toBe(want.keysWritten);
  } finally {
    spy.mockRestore();
  }
}

const rowLens = (b: number, l: number, s: number) =>
  Array.from({ length: b * l }, (_, i) => (i * 7) % (s + 5));

describe('sdpa_forward, software kernel set with subgroups, vs the float64 reference', () => {
  const cases = [
    sdpaCase('L = 63, S = 65, no lens', [2, 63, 65, 8, 8]),
    sdpaCase('L = 1, S = 13', [2, 1, 13, 8, 4]),
    sdpaCase('S = 1', [1, 9, 1, 4, 8]),
    sdpaCase('D = Dv = 128, per-row lens with 0 and > S', [2, 33, 63, 128, 128], {}, rowLens(2, 33, 63)),
    sdpaCase('D = 12 ≠ Dv = 20, per-batch lens with 0 and > S', [3, 17, 33, 12, 20], {}, [0, 40, 9]),
    sdpaCase('causal, L > S, per-batch lens', [2, 60, 29, 8, 8], { causal: true }, [29, 11]),
    sdpaCase('causal, L < S, per-row lens', [2, 31, 64, 8, 12], { causal: true }, rowLens(2, 31, 64)),
    sdpaCase('dropout, per-row lens', [2, 61, 63, 16, 8], { p: 0.25, seed: 11 }, rowLens(2, 61, 63)),
    sdpaCase('dropout + causal', [2, 50, 37, 4, 4], { p: 0.6, seed: 99, causal: true }),
    sdpaCase('several row tiles (WG = 32), per-batch lens', [2, 200, 70, 8, 8], {}, [70, 3]),
    sdpaCase(
      'several row tiles of the _named forward (WG = 64, 8 rows each)',
      [2, 600, 40, 8, 8],
      {},
      [40, 3],
    ),
  ];
  cases.forEach((c, i) => {
    it(`${label(c)}`, () => check(c, 7000 + i), 180_000);
  });
});

// Subgroups of 4 to 8 lanes: rows shared over 4, keys walked by a loop; of 4 lanes only (SwiftShader): keys written out.
describe.each([
  [4, 8, 0],
  [4, 4, 1],
])(
  'sdpa_forward_named with rows shared over 4 lanes (the adapter reports subgroups of %i to %i lanes; KEYS_WRITTEN %i), vs the float64 reference',
  (min, max, keysWritten) => {
    let restore = () => {};
    beforeAll(() => {
      restore = reportSubgroupSizes(engine(), min, max);
    });
    afterAll(() => restore());
    const cases = [
      sdpaCase(
        'L = 63, S = 65, D = 64, per-row lens with 0 and > S',
        [2, 63, 65, 64, 64],
        {},
        rowLens(2, 63, 65),
      ),
      sdpaCase('D = 12 ≠ Dv = 20, per-batch lens with 0 and > S', [3, 17, 33, 12, 20], {}, [0, 40, 9]),
      sdpaCase('dropout + causal, L > S', [2, 50, 37, 4, 4], { p: 0.6, seed: 99, causal: true }),
    ];
    cases.forEach((c, i) => {
      it(`${label(c)}`, () => check(c, 7100 + i, 4, keysWritten), 180_000);
    });
  },
);
