/**
 * The fused attention backward checks shared by the kernel-set tests (sdpa_tiled_backward: hardware set;
 * sdpa_named_backward: software set): dq, dk and dv through autograd, or of the two backward ops alone fed the
 * reference's stats, against the float64 reference, on the awkward shapes below.
 */
import { vi } from 'vitest';
import { scaledDotProductAttention } from '../src/ops/attention.js';
import { sdpaBackwardDkdv, sdpaBackwardDq, sdpaForward } from '../src/ops/sdpa_fused.js';
import type { SdpaAttrs } from '../src/ops/sdpa_reference.js';
import { backward } from '../src/ops/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { apply, runReference, type CpuTensor, type OpCase } from '../src/runtime/op.js';
import { label, sdpaCase } from './sdpa_cases.js';
import { drawCase, expectClose, f32, upload } from './helpers.js';

/** Per-row lens cycling through 0, values inside (0, S] and values past S. */
export const rowLens = (b: number, l: number, s: number) =>
  Array.from({ length: b * l }, (_, i) => (i * 7) % (s + 5));

/** q, k, v, (lens), and dy drawn from `seed`; CPU copies rounded to float32 as the GPU sees them. */
export function draw(c: OpCase<SdpaAttrs>, seed: number) {
  const { rng, values, cpuIn: cpu } = drawCase(c, seed);
  const [b, l] = c.inputs[0].shape;
  const dyValues = rng.normalArray(b * l * c.inputs[2].shape[2]);
  const dyCpu: CpuTensor = { shape: [b, l, c.inputs[2].shape[2]], data: f32(Array.from(dyValues)) };
  return { values, dyValues, cpu, dyCpu };
}

/** The float64 dq, dk, dv of Σ o ∘ dy; the references take [q, k, v, dy, stats (unread), lens?]. */
export function reference(
  c: OpCase<SdpaAttrs>,
  { cpu, dyCpu }: ReturnType<typeof draw>,
): ArrayLike<number>[] {
  const [q, k, v, lens] = cpu;
  const args = [q, k, v, dyCpu, { shape: [], data: [] }, ...(lens ? [lens] : [])];
  return [...runReference(sdpaBackwardDq, args, c.attrs), ...runReference(sdpaBackwardDkdv, args, c.attrs)];
}

export const tolerance = { atol: 1e-4, rtol: 1e-3 };

/**
 * A kernel dispatched, and where it is a _named one the lanes it shares rows over (SHARE_LANES), its rows per thread
 * (ROWS) and whether it writes a block's 4 keys or query rows out (KEYS_WRITTEN, QUERIES_WRITTEN).
 */
export interface Dispatched {
  kernel: string;
  shareLanes?: number;
  rows?: number;
  written?: number;
}

/**
 * dq, dk, dv of the public function (fused path) through autograd on `engine`'s current kernel set; returns the
 * kernels dispatched.
 */
export async function checkAutograd(
  engine: () => Engine,
  c: OpCase<SdpaAttrs>,
  seed: number,
): Promise<Dispatched[]> {
  const drawn = draw(c, seed);
  const expected = reference(c, drawn);
  const spy = vi.spyOn(engine(), 'dispatch');
  try {
    const got = await engine().tidyAsync(async () => {
      const [q, k, v, lens] = c.inputs.map((s, i) => upload(engine(), s, drawn.values[i]));
      for (const t of [q, k, v]) t.requiresGrad = true;
      const { causal, scale, p, seed: dropSeed } = c.attrs;
      const { output } = scaledDotProductAttention(q, k, v, {
        validLens: lens ?? null,
        causal,
        scale,
        dropout: p,
        seed: dropSeed,
        fused: true,
      });
      backward(output, engine().fromArray(drawn.dyValues, output.shape));
      return Promise.all([q, k, v].map((t) => t.grad!.data()));
    });
    ['dq', 'dk', 'dv'].forEach((what, i) =>
      expectClose(got[i], expected[i], { ...tolerance, what: `${label(c)} ${what}` }),
    );
    return spy.mock.calls.map(([kernel, spec]) => ({
      kernel,
      shareLanes: spec.constants?.SHARE_LANES,
      rows: spec.constants?.ROWS,
      written: spec.constants?.KEYS_WRITTEN ?? spec.constants?.QUERIES_WRITTEN,
    }));
  } finally {
    spy.mockRestore();
  }
}

/** The two backward ops alone, fed the reference's stats (lse, delta), so only the backward kernels are under test. */
export async function checkKernels(engine: () => Engine, c: OpCase<SdpaAttrs>, seed: number): Promise<void> {
  const drawn = draw(c, seed);
  const [dqRef, dkRef, dvRef] = reference(c, drawn);
  const [q, k, v, lens] = drawn.cpu;
  const [o, lse] = runReference(sdpaForward, [q, k, v, ...(lens ? [lens] : [])], c.attrs);
  const dv = c.inputs[2].shape[2];
  const stats = Array.from({ length: 2 * lse.length }, (_, x) => {
    if (x % 2 === 0) return lse[x / 2];
    let delta = 0;
    for (let e = 0; e < dv; e++)
      delta += drawn.dyCpu.data[((x - 1) / 2) * dv + e] * o[((x - 1) / 2) * dv + e];
    return delta;
  });
  const got = await engine().tidyAsync(async () => {
    const [qt, kt, vt, lenst] = c.inputs.map((s, i) => upload(engine(), s, drawn.values[i]));
    const dyt = engine().fromArray(drawn.dyValues, drawn.dyCpu.shape);
    const st = engine().fromArray(stats, [...drawn.dyCpu.shape.slice(0, 2), 2]);
    const args = [qt, kt, vt, dyt, st, ...(lenst ? [lenst] : [])];
    const [dqt] = apply(sdpaBackwardDq, args, c.attrs);
    const [dkt, dvt] = apply(sdpaBackwardDkdv, args, c.attrs);
    return Promise.all([dqt, dkt, dvt].map((t) => t.data()));
  });
  expectClose(got[0], dqRef, { ...tolerance, what: `${label(c)} dq` });
  expectClose(got[1], dkRef, { ...tolerance, what: `${label(c)} dk` });
  expectClose(got[2], dvRef, { ...tolerance, what: `${label(c)} dv` });
}

export const awkward = [
  sdpaCase('L = 63, S = 65, per-batch lens', [2, 63, 65, 8, 12], {}, [65, 30]),
  sdpaCase('L = 130, S = 1', [1, 130, 1, 4, 8]),
  sdpaCase('L = 1, S = 130', [2, 1, 130, 8, 4]),
  sdpaCase('D = Dv = 128, per-row lens with 0 and > S', [2, 65, 63, 128, 128], {}, rowLens(2, 65, 63)),
  sdpaCase('D = 4', [3, 63, 65, 4, 4]),
  sdpaCase('D = 128 ≠ Dv = 4', [2, 9, 17, 128, 4]),
  sdpaCase('D = 4 ≠ Dv = 128, causal', [2, 17, 9, 4, 128], { causal: true }),
  sdpaCase('D = 12 ≠ Dv = 20, per-batch lens with 0 and > S', [3, 17, 33, 12, 20], {}, [0, 40, 9]),
  sdpaCase('causal, L > S, per-batch lens', [2, 130, 65, 8, 8], { causal: true }, [65, 30]),
  sdpaCase('causal, L < S, per-row lens', [2, 63, 130, 8, 12], { causal: true }, rowLens(2, 63, 130)),
  sdpaCase('dropout, per-row lens', [2, 65, 63, 16, 8], { p: 0.25, seed: 11 }, rowLens(2, 65, 63)),
  sdpaCase('dropout + causal, L > S, scale 1', [2, 130, 65, 4, 4], {
    p: 0.6,
    seed: 99,
    causal: true,
    scale: 1,
  }),
  sdpaCase(
    'dropout + causal, L < S, per-batch lens 0',
    [3, 17, 65, 8, 8],
    { p: 0.3, seed: 5, causal: true },
    [0, 65, 20],
  ),
];
