/**
 * The hardware kernel set's fused attention backward (shaders/sdpa_backward_dq_tiled.wgsl and
 * sdpa_backward_dkdv_tiled.wgsl, forced here: lavapipe would pick the software set) against the float64 reference:
 * dq, dk and dv of `scaledDotProductAttention` through autograd on every registry case of sdpa_forward, then L and
 * S off the 16-row blocks and 8-row tiles, head dims 4 and 128, D ≠ Dv, valid lengths 0 and > S, causal with L > S
 * and L < S, dropout and batches (test/sdpa_backward_check.ts); the two kernels alone fed with reference stats; the
 * whole op against float64 finite differences; WebGPU's default limits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sdpaForward } from '../src/ops/sdpa_fused.js';
import { backward } from '../src/ops/autograd.js';
import { init, setEngine } from '../src/runtime/global.js';
import { apply } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { label, sdpaCase } from './sdpa_cases.js';
import { awkward, checkAutograd, checkKernels, draw, reference, tolerance } from './sdpa_backward_check.js';
import { drawCase, expectClose, f32, finiteDifference, upload } from './helpers.js';

const DQ = 'sdpa_backward_dq_tiled';
const DKDV = 'sdpa_backward_dkdv_tiled';

const engine = useEngine('webgpu', { compile: [DQ, DKDV] });
beforeAll(() => engine().setKernels('hardware'));

describe('sdpa backward, hardware kernel set (the tiled dq and dk/dv kernels) vs the float64 reference', () => {
  it('dispatches the tiled backward kernels', async () => {
    const kernels = (await checkAutograd(engine, sdpaCase('small', [2, 3, 5, 8, 4], {}, [5, 2]), 1)).map(
      (d) => d.kernel,
    );
    expect(kernels).toContain(DQ);
    expect(kernels).toContain(DKDV);
    expect(kernels).not.toContain('sdpa_backward_dq');
    expect(kernels).not.toContain('sdpa_backward_dkdv');
  });

  sdpaForward.cases.forEach((c, i) => {
    it(`registry case, through autograd: ${label(c)}`, () => checkAutograd(engine, c, 1000 + i));
  });

  awkward.forEach((c, i) => {
    it(`awkward shape, through autograd: ${label(c)}`, () => checkAutograd(engine, c, 3000 + i));
  });

  awkward.forEach((c, i) => {
    it(`awkward shape, the kernels alone: ${label(c)}`, () => checkKernels(engine, c, 4000 + i));
  });

  it('backward vs float64 finite differences of the whole op', async () => {
    const c = sdpaCase(
      'fd',
      [2, 5, 7, 4, 8],
      { causal: true, p: 0.2, seed: 9 },
      [0, 3, 7, 9, 1, 2, 5, 4, 7, 6],
    );
    const { rng, values, cpuIn } = drawCase(c, 5000);
    const dyValues = rng.normalArray(2 * 5 * 8);
    const grads = await engine().tidyAsync(async () => {
      const inputs = c.inputs.map((s, k) => upload(engine(), s, values[k]));
      for (const t of inputs.slice(0, 3)) t.requiresGrad = true;
      const [o] = apply(sdpaForward, inputs, c.attrs);
      backward(o, engine().fromArray(dyValues, o.shape));
      return Promise.all(inputs.slice(0, 3).map((t) => t.grad!.data()));
    });
    grads.forEach((g, k) =>
      expectClose(g, finiteDifference(sdpaForward, cpuIn, c.attrs, f32(Array.from(dyValues)), k), {
        atol: 2e-3,
        rtol: 2e-3,
        what: `d(input ${k})`,
      }),
    );
  });
});

describe("WebGPU's default limits", () => {
  it('forward + backward at D = Dv = 128 (16384 bytes of workgroup memory, 8 storage buffers)', async () => {
    const small = await init({ limits: 'default', kernels: 'hardware' });
    try {
      expect(small.profile.limits.maxComputeWorkgroupStorageSize).toBe(16384);
      expect(small.profile.limits.maxStorageBuffersPerShaderStage).toBe(8);
      const c = sdpaCase('default limits', [2, 33, 20, 128, 128], { causal: true, p: 0.1, seed: 3 }, [20, 0]);
      const drawn = draw(c, 6000);
      const expected = reference(c, drawn);
      const got = await small.tidyAsync(async () => {
        const [q, k, v, lens] = c.inputs.map((s, i) => upload(small, s, drawn.values[i]));
        for (const t of [q, k, v]) t.requiresGrad = true;
        const [o] = apply(sdpaForward, [q, k, v, lens], c.attrs);
        backward(o, small.fromArray(drawn.dyValues, o.shape));
        return Promise.all([q, k, v].map((t) => t.grad!.data()));
      });
      ['dq', 'dk', 'dv'].forEach((what, i) => expectClose(got[i], expected[i], { ...tolerance, what }));
    } finally {
      small.destroy();
      setEngine(engine());
    }
  });
});
