/**
 * The generic pass over the op registry: every kernel against its independent CPU reference on awkward
 * shapes, and every backward against central finite differences of the reference in float64.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { registry } from '../src/ops/registry.js';
import { backward } from '../src/ops/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { init } from '../src/runtime/global.js';
import type { AnyOpDef, CpuTensor, OpCase } from '../src/runtime/op.js';
import { apply } from '../src/runtime/op.js';
import { formatShape } from '../src/runtime/tensor.js';
import { expectClose, f32, finiteDifference, makeValues, upload } from './helpers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await init('webgpu');
  await engine.compileAll();
});
afterAll(() => engine?.destroy());

// vitest.config.ts runs this file once per kernel set; a set that silently fell back would test the other twice.
it('runs the kernel set its project forces', () => {
  const forced = process.env.WEBGPU_ATTENTION_KERNELS;
  expect(engine.profile.kernels).toBe(forced || engine.profile.kernels);
});

function label<A>(c: OpCase<A>, i: number): string {
  return `${c.name ?? `case ${i}`} ${c.inputs.map((s) => formatShape(s.shape)).join(' ')} ${JSON.stringify(c.attrs)}`;
}

const entries = Object.entries(registry) as [string, AnyOpDef][];

describe.each(entries)('%s', (_name, def) => {
  if (def.cases.length === 0) {
    it('is covered through the gradient check of its forward op', () => {
      expect(def.backward).toBeNull();
    });
    return;
  }
  def.cases.forEach((c, i) => {
    it(`forward vs CPU reference: ${label(c, i)}`, async () => {
      const rng = new Random(1000 + i);
      const values = c.inputs.map((s) => makeValues(s, rng));
      const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({ shape: s.shape, data: f32(values[k]) }));
      const expected = def.cpu(cpuIn, c.attrs);
      await engine.tidyAsync(async () => {
        const gpuIn = c.inputs.map((s, k) => upload(engine, s, values[k]));
        const outs = apply(def, gpuIn, c.attrs);
        for (let o = 0; o < outs.length; o++)
          expectClose(await outs[o].data(), expected[o], { what: `${def.name} output ${o}` });
      });
    });
    if (def.backward && !c.noGradCheck)
      it(`backward vs finite differences: ${label(c, i)}`, async () => {
        const rng = new Random(2000 + i);
        const values = c.inputs.map((s) => makeValues(s, rng));
        const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({ shape: s.shape, data: f32(values[k]) }));
        const out0 = def.cpu(cpuIn, c.attrs)[0];
        const dyValues = Array.from({ length: out0.length }, () => rng.normal());
        const grads = await engine.tidyAsync(async () => {
          const gpuIn = c.inputs.map((s, k) => upload(engine, s, values[k]));
          c.inputs.forEach((s, k) => {
            gpuIn[k].requiresGrad = (s.dtype ?? 'float32') === 'float32' && s.grad !== false;
          });
          const [y] = apply(def, gpuIn, c.attrs);
          backward(y, engine.fromArray(dyValues, y.shape));
          return Promise.all(gpuIn.map((t) => (t.requiresGrad && t.grad ? t.grad.data() : null)));
        });
        let checked = 0;
        c.inputs.forEach((s, k) => {
          if ((s.dtype ?? 'float32') !== 'float32' || s.grad === false) return;
          const fd = finiteDifference(def, cpuIn, c.attrs, f32(dyValues), k);
          expect(grads[k], `input ${k} received no gradient`).not.toBeNull();
          expectClose(grads[k]!, fd, { atol: 2e-3, rtol: 2e-3, what: `${def.name} d(input ${k})` });
          checked++;
        });
        expect(checked).toBeGreaterThan(0);
      });
  });
});
