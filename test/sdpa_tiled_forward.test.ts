/**
 * The hardware kernel set's fused attention forward (shaders/sdpa_forward_tiled.wgsl, forced here: lavapipe would
 * pick the software set) against the float64 reference, o and lse: every registry case of sdpa_forward, then L and S
 * off the tiles' multiples, head dims 4 and 128, D ≠ Dv, valid lengths 0 and > S, causal with L > S and L < S,
 * dropout, each of the plan's three block sizes, a batch folded into y·z, WebGPU's default limits, and the public
 * function against the unfused path.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Random } from '../src/data/random.js';
import { scaledDotProductAttention } from '../src/ops/attention.js';
import { sdpaForward } from '../src/ops/sdpa_fused.js';
import type { SdpaAttrs } from '../src/ops/sdpa_reference.js';
import type { Engine } from '../src/runtime/engine.js';
import { init } from '../src/runtime/global.js';
import { apply, runReference, type OpCase } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { label, sdpaCase } from './sdpa_cases.js';
import { drawCase, expectClose, upload } from './helpers.js';

const engine = useEngine();
beforeAll(() => engine().setKernels('hardware'));

/** Runs the op on `eng`, compares o and lse with the reference; returns the workgroup sizes it dispatched. */
async function check(eng: Engine, c: OpCase<SdpaAttrs>, seed: number): Promise<number[]> {
  const { values, cpuIn } = drawCase(c, seed);
  const [o, lse] = runReference(sdpaForward, cpuIn, c.attrs);
  const spy = vi.spyOn(eng, 'dispatch');
  try {
    await eng.tidyAsync(async () => {
      const outs = apply(
        sdpaForward,
        c.inputs.map((s, k) => upload(eng, s, values[k])),
        c.attrs,
      );
      expectClose(await outs[0].data(), o, { what: `${label(c)} o` });
      expectClose(await outs[1].data(), lse, { what: `${label(c)} lse` });
    });
    expect(spy.mock.calls.map(([kernel]) => kernel)).toEqual(['sdpa_forward_tiled']);
    return spy.mock.calls.map(([, d]) => d.constants!.WG);
  } finally {
    spy.mockRestore();
  }
}

/** Per-row lens cycling through 0, values inside (0, S] and values past S. */
const rowLens = (b: number, l: number, s: number) =>
  Array.from({ length: b * l }, (_, i) => (i * 7) % (s + 5));

describe('sdpa_forward, hardware kernel set (sdpa_forward_tiled.wgsl) vs the float64 reference', () => {
  sdpaForward.cases.forEach((c, i) => {
    it(`registry case: ${label(c)}`, () => check(engine(), c, 1000 + i));
  });

  const awkward = [
    sdpaCase('L = 63, S = 65', [2, 63, 65, 8, 8]),
    sdpaCase('L = 130, S = 1', [1, 130, 1, 4, 8]),
    sdpaCase('L = 1, S = 130', [2, 1, 130, 8, 4]),
    sdpaCase('D = Dv = 128, per-row lens with 0 and > S', [2, 65, 63, 128, 128], {}, rowLens(2, 65, 63)),
    sdpaCase('D = 4', [3, 63, 130, 4, 4]),
    sdpaCase('D = 128 ≠ Dv = 4', [2, 9, 17, 128, 4]),
    sdpaCase('D = 12 ≠ Dv = 20, per-batch lens with 0 and > S', [3, 17, 33, 12, 20], {}, [0, 40, 9]),
    sdpaCase('causal, L > S, per-batch lens', [2, 130, 65, 8, 8], { causal: true }, [65, 30]),
    sdpaCase('causal, L < S, per-row lens', [2, 63, 130, 8, 12], { causal: true }, rowLens(2, 63, 130)),
    sdpaCase('dropout, per-row lens', [2, 65, 63, 16, 8], { p: 0.25, seed: 11 }, rowLens(2, 65, 63)),
    sdpaCase('dropout + causal, L > S', [2, 130, 65, 4, 4], { p: 0.6, seed: 99, causal: true }),
  ];
  awkward.forEach((c, i) => {
    it(`awkward shape: ${label(c)}`, () => check(engine(), c, 3000 + i));
  });

  // The plan shrinks the block while B·ceil(L / BR) < 128: these batches reach BR = 64, 32 and 16.
  const blocks: [number, OpCase<SdpaAttrs>][] = [
    [256, sdpaCase('BR = 64, L = 130', [64, 130, 17, 8, 8], { causal: true }, rowLens(64, 130, 17))],
    [128, sdpaCase('BR = 32, L = 65', [48, 65, 9, 4, 8], { p: 0.3, seed: 5 })],
    [64, sdpaCase('BR = 16, L = 63', [2, 63, 20, 8, 4], {}, [20, 0])],
  ];
  blocks.forEach(([wg, c], i) => {
    it(`block size: WG = ${wg}, ${label(c)}`, async () => {
      expect(await check(engine(), c, 4000 + i)).toEqual([wg]);
    });
  });

  it('folds a batch past one dispatch (B = 65537) into y·z', () =>
    check(engine(), sdpaCase('B folded', [65537, 1, 2, 4, 4], {}, Array(65537).fill(1)), 5000));
});

describe("WebGPU's default limits", () => {
  it('compiles and runs with WG = 256 at D = Dv = 128 (16384 bytes of workgroup memory)', async () => {
    const small = await init({ limits: 'default', kernels: 'hardware' });
    try {
      expect(small.profile.limits.maxComputeWorkgroupStorageSize).toBe(16384);
      const c = sdpaCase('default limits', [128, 64, 9, 128, 128], { causal: true });
      expect(await check(small, c, 6000)).toEqual([256]);
    } finally {
      small.destroy();
    }
  });
});

describe('scaledDotProductAttention, hardware set', () => {
  it('fused output equals the unfused path', async () => {
    const [b, l, s, d, dv] = [2, 33, 17, 12, 8];
    const rng = new Random(7);
    const data = [rng.normalArray(b * l * d), rng.normalArray(b * s * d), rng.normalArray(b * s * dv)];
    const lens = Array.from({ length: b }, (_, i) => Array.from({ length: l }, (_, j) => (i * l + j) % 20));
    const run = (fused: boolean) =>
      engine().tidyAsync(() => {
        const q = engine().fromArray(data[0], [b, l, d]);
        const k = engine().fromArray(data[1], [b, s, d]);
        const v = engine().fromArray(data[2], [b, s, dv]);
        const opts = { validLens: lens, causal: true, fused };
        return scaledDotProductAttention(q, k, v, opts).output.data();
      });
    const spy = vi.spyOn(engine(), 'dispatch');
    const fused = await run(true);
    const kernels = spy.mock.calls.map(([kernel]) => kernel);
    spy.mockRestore();
    expect(kernels).toContain('sdpa_forward_tiled');
    expectClose(fused, await run(false), { atol: 2e-5, rtol: 1e-3, what: 'fused vs unfused' });
  });
});
