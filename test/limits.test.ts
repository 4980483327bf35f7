/**
 * WebGPU's default limits (8 storage buffers per shader stage, 16 KiB of workgroup storage, 256 invocations per
 * workgroup) are all many users' adapters offer. A device that requests no more compiles every kernel, runs every
 * registry case forward (against the CPU reference) and backward, and takes one training step of every model
 * (backward through fused attention) that matches the CPU reference engine's, on both kernel sets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import type { Module } from '../src/nn/module.js';
import { registry } from '../src/ops/registry.js';
import { clipGradNorm } from '../src/optim/clip.js';
import { backward } from '../src/ops/autograd.js';
import { Engine } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';
import type { KernelSet } from '../src/runtime/kernel_set.js';
import { apply, runReference, type AnyOpDef, type CpuTensor } from '../src/runtime/op.js';
import { numel } from '../src/runtime/tensor.js';
import type { StepSpec } from '../bench/cases/train.js';
import { clsStep, nwStep, seq2seqStep, transformerStep } from '../bench/cases/train_models.js';
import { expectClose, f32, makeValues, upload } from './helpers.js';

/** WebGPU's default limits (https://www.w3.org/TR/webgpu/#limit-default). */
const DEFAULTS = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
};
/** Registry cases larger than this are the kernels' size stress cases, run by test/registry.test.ts. */
const MAX_CASE_ELEMENTS = 200_000;

let gpu: Engine;
let cpu: Engine;
beforeAll(async () => {
  gpu = await Engine.create('webgpu', { limits: 'default' });
  cpu = await Engine.create('cpu');
});
afterAll(() => {
  setEngine(null);
  gpu?.destroy();
  cpu?.destroy();
});

it('the device enforces the default limits, whatever the adapter offers', () => {
  for (const [k, v] of Object.entries(DEFAULTS)) {
    expect(gpu.device.limits[k as keyof GPUSupportedLimits], k).toBe(v);
    expect((gpu.adapter as { limits: Record<string, number> }).limits[k], k).toBe(v);
  }
  expect((gpu.adapter as { limitsRequested: string }).limitsRequested).toBe('default');
});

it('every kernel compiles within them', async () => {
  await gpu.compileAll();
});

const entries = (Object.entries(registry) as [string, AnyOpDef][]).filter(([, d]) => d.cases.length > 0);

/** One training step: loss, backward, clip where d2l clips, update. @returns the loss and the parameters after. */
async function step(e: Engine, spec: StepSpec): Promise<{ loss: number; params: Float32Array[] }> {
  setEngine(e);
  const model: Module = spec.build();
  const opt = spec.optimizer(model.parameters());
  const loss = await e.tidyAsync(async () => {
    const l = spec.loss(model, spec.inputs(e));
    backward(l);
    if (spec.maxNorm !== undefined) clipGradNorm(model.parameters(), spec.maxNorm).dispose();
    opt.step();
    return (await l.data())[0];
  });
  const params = await Promise.all(model.parameters().map(async (p) => (await p.data()) as Float32Array));
  opt.zeroGrad();
  model.dispose();
  return { loss, params };
}

const small = { batch: 4, numSteps: 6, hidden: 16, quick: true };

describe.each(['software', 'hardware'] as KernelSet[])('the %s kernel set', (set) => {
  beforeAll(() => gpu.setKernels(set));

  describe.each(entries)('%s', (_name, def) => {
    def.cases.forEach((c, i) => {
      if (c.inputs.reduce((n, s) => n + numel(s.shape), 0) > MAX_CASE_ELEMENTS) return;
      it(`forward and backward, case ${c.name ?? i}`, async () => {
        const rng = new Random(3000 + i);
        const values = c.inputs.map((s) => makeValues(s, rng));
        const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({
          shape: s.shape,
          dtype: s.dtype,
          data: f32(values[k]),
        }));
        const expected = runReference(def, cpuIn, c.attrs);
        await gpu.tidyAsync(async () => {
          const inputs = c.inputs.map((s, k) => upload(gpu, s, values[k]));
          c.inputs.forEach((s, k) => {
            // As in test/registry.test.ts: noGradCheck marks cases whose backward is not for checking (or throws).
            inputs[k].requiresGrad =
              !!def.backward && !c.noGradCheck && (s.dtype ?? 'float32') === 'float32' && s.grad !== false;
          });
          const outs = apply(def, inputs, c.attrs);
          for (let o = 0; o < outs.length; o++)
            expectClose(await outs[o].data(), expected[o], { what: `${def.name} output ${o}` });
          if (!outs[0].creator) return;
          backward(outs[0], gpu.fromArray(makeValues({ shape: outs[0].shape.slice() }, rng), outs[0].shape));
          // Reading the gradients back surfaces any validation error of the backward's pipelines.
          for (const t of inputs) if (t.grad) expect((await t.grad.data()).every(Number.isFinite)).toBe(true);
          inputs.forEach((t) => t.grad?.dispose());
        });
      });
    });
  });

  const specs: StepSpec[] = [
    nwStep(),
    clsStep('mlp'),
    clsStep('attention'),
    seq2seqStep(small),
    transformerStep(small),
  ];
  it.each(specs.map((s) => [s.name, s] as const))(
    'one training step of %s equals the CPU reference',
    async (_name, spec) => {
      const want = await step(cpu, spec);
      const got = await step(gpu, spec);
      expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(want.loss)));
      got.params.forEach((p, i) => {
        const scale = Math.max(...Array.from(want.params[i], Math.abs), 1e-6);
        expectClose(p, want.params[i], { atol: 1e-3 * scale, rtol: 1e-3, what: `parameter ${i}` });
      });
    },
  );
});
