/**
 * The generic pass over the op registry: every kernel against its independent CPU reference on awkward
 * shapes, and every backward against central finite differences of the reference in float64, on WebGPU and on
 * the CPU backend (whose backward runs the CPU references of the backward ops, so they are checked on their own).
 * The backward-only entries have no cases: each must have run in the gradient check of some forward op.
 */
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { registry } from '../src/ops/registry.js';
import { backward } from '../src/ops/autograd.js';
import type { Backend } from '../src/runtime/engine.js';
import type { AnyOpDef, OpCase } from '../src/runtime/op.js';
import { apply, runReference } from '../src/runtime/op.js';
import { formatShape } from '../src/runtime/tensor.js';
import { useEngine } from './engine_fixture.js';
import { drawCase, expectClose, f32, finiteDifference, upload } from './helpers.js';

function label<A>(c: OpCase<A>, i: number): string {
  return `${c.name ?? `case ${i}`} ${c.inputs.map((s) => formatShape(s.shape)).join(' ')} ${JSON.stringify(c.attrs)}`;
}

const entries = Object.entries(registry) as [string, AnyOpDef][];
/** The kernels of forward ops' backwards, which have no cases of their own. */
const backwardOnly = entries.filter(([, def]) => def.cases.length === 0).map(([, def]) => def);
const isFloat = (s: OpCase<unknown>['inputs'][number]) =>
  (s.dtype ?? 'float32') === 'float32' && s.grad !== false;

/**
 * Finite differences by `${op}/${case}/${input}`: the same inputs on both backends (the seeds depend only on the
 * case), so the float64 reference is differentiated once per file.
 */
const fdCache = new Map<string, Float64Array>();

// The CPU backend runs no kernels, so the hardware project (vitest.config.ts) would only repeat it.
const backends: Backend[] =
  process.env.WEBGPU_ATTENTION_KERNELS === 'hardware' ? ['webgpu'] : ['webgpu', 'cpu'];

describe.each(backends)('on %s', (backend) => {
  const engine = useEngine(backend, { compile: true });
  // What runs a backward-only entry: its kernels on WebGPU, its CPU reference on the CPU backend.
  const method = backend === 'webgpu' ? 'gpu' : 'cpu';
  const spies = new Map<string, MockInstance>();
  /** The gradient checks that ran each backward-only entry. */
  const ranIn = new Map<string, string[]>(backwardOnly.map((def) => [def.name, []]));
  beforeAll(() => {
    for (const def of backwardOnly) spies.set(def.name, vi.spyOn(def, method));
  });
  afterAll(() => spies.forEach((s) => s.mockRestore()));

  if (backend === 'webgpu')
    // vitest.config.ts runs this file once per kernel set; a set that silently fell back would test the other twice.
    it('runs the kernel set its project forces', () => {
      const forced = process.env.WEBGPU_ATTENTION_KERNELS;
      expect(engine().profile.kernels).toBe(forced || engine().profile.kernels);
    });

  const gradChecked = (def: AnyOpDef) => def.backward !== null && def.cases.some((c) => !c.noGradCheck);
  const tested = entries.filter(
    ([, def]) => def.cases.length > 0 && (backend === 'webgpu' || gradChecked(def)),
  );
  describe.each(tested)('%s', (name, def) => {
    def.cases.forEach((c, i) => {
      // On the CPU backend `apply` runs the reference itself: only the backward is worth checking there.
      if (backend === 'webgpu')
        it(`forward vs CPU reference: ${label(c, i)}`, async () => {
          const e = engine();
          const { values, cpuIn } = drawCase(c, 1000 + i);
          const expected = runReference(def, cpuIn, c.attrs);
          await e.tidyAsync(async () => {
            const gpuIn = c.inputs.map((s, k) => upload(e, s, values[k]));
            const outs = apply(def, gpuIn, c.attrs);
            for (let o = 0; o < outs.length; o++)
              expectClose(await outs[o].data(), expected[o], { what: `${def.name} output ${o}` });
          });
        });
      if (def.backward && !c.noGradCheck)
        it(`backward vs finite differences: ${label(c, i)}`, async () => {
          const e = engine();
          const { rng, values, cpuIn } = drawCase(c, 2000 + i);
          const out0 = runReference(def, cpuIn, c.attrs)[0];
          const dyValues = Array.from({ length: out0.length }, () => rng.normal());
          const grads = await e.tidyAsync(async () => {
            const inputs = c.inputs.map((s, k) => upload(e, s, values[k]));
            c.inputs.forEach((s, k) => (inputs[k].requiresGrad = isFloat(s)));
            const [y] = apply(def, inputs, c.attrs);
            spies.forEach((s) => s.mockClear());
            backward(y, e.fromArray(dyValues, y.shape));
            return Promise.all(inputs.map((t) => (t.requiresGrad && t.grad ? t.grad.data() : null)));
          });
          spies.forEach((s, op) => {
            if (s.mock.calls.length > 0) ranIn.get(op)!.push(`${name} ${label(c, i)}`);
          });
          let checked = 0;
          c.inputs.forEach((s, k) => {
            if (!isFloat(s)) return;
            const key = `${name}/${i}/${k}`;
            let fd = fdCache.get(key);
            if (!fd) fdCache.set(key, (fd = finiteDifference(def, cpuIn, c.attrs, f32(dyValues), k)));
            expect(grads[k], `input ${k} received no gradient`).not.toBeNull();
            expectClose(grads[k]!, fd, { atol: 2e-3, rtol: 2e-3, what: `${def.name} d(input ${k})` });
            checked++;
          });
          expect(checked).toBeGreaterThan(0);
        });
    });
  });

  // After every gradient check above (vitest runs a file's tests in order), so only meaningful for the whole file.
  describe('backward-only entries', () => {
    it.each(backwardOnly.map((def) => [def.name]))('%s ran in the gradient check of a forward op', (op) => {
      expect(ranIn.get(op), `no gradient check ran ${op} on ${backend} (run the whole file)`).not.toEqual([]);
    });
  });
});
