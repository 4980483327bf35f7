/**
 * The default path of scaledDotProductAttention (src/ops/sdpa_path.ts): with `fused` unset the software set runs
 * the fused kernels where its _named or _subgroup forward runs (and, with a tape, its _named backward: head dims up
 * to 64, subgroups of 4 lanes or more) and the unfused composition elsewhere, the hardware set the fused kernels,
 * large (B, L, S) sizes stay fused on both, and
 * `fused: true / false` still forces a path. Checked on the kernels dispatched, and the default agrees with both.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Random } from '../src/data/random.js';
import { scaledDotProductAttention, type SdpaOptions } from '../src/ops/attention.js';
import { fill } from '../src/ops/elementwise.js';
import { SDPA_UNFUSED_MAX_BYTES, preferFused } from '../src/ops/sdpa_path.js';
import { backward } from '../src/ops/autograd.js';
import type { KernelSet } from '../src/runtime/kernel_set.js';
import { useEngine } from './engine_fixture.js';
import { expectClose, reportSubgroupSizes } from './helpers.js';
import { namedKernels, subgroupKernels } from './sdpa_cases.js';

const engine = useEngine();
let own: KernelSet;
/**
 * Whether the software plans take the _subgroup kernels (head dims past 64, forward only) and the _named ones (up
 * to 64) here: the only software kernels faster than unfused.
 */
let subgroups = false;
let named = false;
beforeAll(() => {
  own = engine().profile.kernels;
  subgroups = subgroupKernels(engine());
  named = namedKernels(engine());
});
afterEach(() => engine().setKernels(own));

const dm = (batch: number, l: number, s: number, d = 64) => ({ batch, l, s, d, dv: d, lensRows: l });

/** Kernels one forward + backward dispatches, and its output and gradients. */
async function run(b: number, l: number, s: number, d: number, options: SdpaOptions) {
  const rng = new Random(3);
  const spy = vi.spyOn(engine(), 'dispatch');
  try {
    const values = await engine().tidyAsync(async () => {
      const q = engine().fromArray(rng.normalArray(b * l * d), [b, l, d]);
      const k = engine().fromArray(rng.normalArray(b * s * d), [b, s, d]);
      const v = engine().fromArray(rng.normalArray(b * s * d), [b, s, d]);
      for (const t of [q, k, v]) t.requiresGrad = true;
      const { output } = scaledDotProductAttention(q, k, v, options);
      backward(output, engine().fromArray(rng.normalArray(b * l * d), output.shape));
      return Promise.all([output, q.grad!, k.grad!, v.grad!].map((t) => t.data()));
    });
    return { kernels: new Set(spy.mock.calls.map(([kernel]) => kernel)), values };
  } finally {
    spy.mockRestore();
  }
}

const fusedKernel = (kernels: Set<string>) => [...kernels].some((k) => k.startsWith('sdpa_forward'));

describe('default path per kernel set', () => {
  it('software: fused with subgroups, else unfused below the size cap; fused above it', () => {
    engine().setKernels('software');
    expect(preferFused(engine(), dm(32, 512, 512))).toBe(named);
    expect(preferFused(engine(), dm(32, 128, 128, 32))).toBe(named);
    expect(preferFused(engine(), dm(32, 128, 128, 96))).toBe(subgroups);
    // Forward + backward: fused where the _named backward kernels run (head dims up to 64), else unfused.
    expect(preferFused(engine(), dm(32, 512, 512), true)).toBe(named);
    expect(preferFused(engine(), dm(32, 128, 128, 32), true)).toBe(named);
    expect(preferFused(engine(), dm(32, 128, 128, 96), true)).toBe(false);
    const over = SDPA_UNFUSED_MAX_BYTES / 4 / 1024 + 1;
    expect(preferFused(engine(), dm(1024, 32, over))).toBe(true);
    // Head dims the fused kernels cannot hold.
    expect(preferFused(engine(), dm(2, 8, 8, 132))).toBe(false);
  });

  it('software on 4-lane subgroups (SwiftShader): fused up to head dim 64, unfused past it', () => {
    engine().setKernels('software');
    const restore = reportSubgroupSizes(engine(), 4, 4);
    try {
      for (const backward of [false, true]) {
        expect(preferFused(engine(), dm(32, 128, 128), backward)).toBe(engine().profile.subgroups);
        expect(preferFused(engine(), dm(32, 1024, 1024, 32), backward)).toBe(engine().profile.subgroups);
        // Past 64 only the _subgroup forward (8 lanes or more) would beat unfused.
        expect(preferFused(engine(), dm(32, 128, 128, 96), backward)).toBe(false);
      }
    } finally {
      restore();
    }
  });

  it('hardware: fused', () => {
    engine().setKernels('hardware');
    expect(preferFused(engine(), dm(32, 512, 512))).toBe(true);
    expect(preferFused(engine(), dm(2, 8, 8, 132))).toBe(false);
  });

  for (const set of ['software', 'hardware'] as const) {
    it(`${set}: the dispatched kernels follow the rule, fused: true / false force, all three agree`, async () => {
      engine().setKernels(set);
      const [b, l, s, d] = [3, 37, 29, 12];
      const options: SdpaOptions = { validLens: [0, 5, 29], causal: true, dropout: 0.2, seed: 9 };
      const auto = await run(b, l, s, d, options);
      const fused = await run(b, l, s, d, { ...options, fused: true });
      const unfused = await run(b, l, s, d, { ...options, fused: false });
      // With a tape the software default is fused where the _named backward runs (subgroups of 4 to 64 lanes).
      expect(fusedKernel(auto.kernels)).toBe(set === 'hardware' || named);
      expect(fusedKernel(fused.kernels)).toBe(true);
      expect(fusedKernel(unfused.kernels)).toBe(false);
      expect([...unfused.kernels].some((k) => k.startsWith('masked_softmax'))).toBe(true);
      for (let i = 0; i < 4; i++) {
        const what = `${set} ${['o', 'dq', 'dk', 'dv'][i]}`;
        expectClose(auto.values[i], fused.values[i], { atol: 2e-5, rtol: 1e-3, what });
        expectClose(auto.values[i], unfused.values[i], { atol: 2e-5, rtol: 1e-3, what });
      }
      // lavapipe compiles each _subgroup backward pipeline for minutes the first time (Mesa caches it on disk).
    }, 900_000);
  }

  it('software: past the size cap the default is fused (no (B, L, S) buffer)', async () => {
    engine().setKernels('software');
    // B·L·S·4 = 32·1024·1025·4 > 128 MiB; D = 4 keeps the fused forward cheap.
    const [b, l, s, d] = [32, 1024, 1025, 4];
    expect(4 * b * l * s).toBeGreaterThan(SDPA_UNFUSED_MAX_BYTES);
    const spy = vi.spyOn(engine(), 'dispatch');
    try {
      await engine().tidyAsync(async () => {
        const q = fill([b, l, d], 0, engine());
        const k = fill([b, s, d], 0, engine());
        return engine()
          .noGrad(() => scaledDotProductAttention(q, k, k).output)
          .data();
      });
      expect(fusedKernel(new Set(spy.mock.calls.map(([kernel]) => kernel)))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
