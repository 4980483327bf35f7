/**
 * The demo's backward check: for a registry case, the gradient of Σ y₀·dy (random dy) with respect to every
 * float input, computed by the GPU backward kernels through autograd, against central finite differences of the
 * op's float64 CPU reference, with test/registry.test.ts's tolerance (2e-3 + 2e-3·|x|). Runs at the registry's
 * sizes: finite differences cost one reference evaluation per input element.
 */
import { backward, type Engine, Random } from '../src/browser.js';
import {
  type AnyOpDef,
  apply,
  type CpuTensor,
  finiteDifference,
  formatShape,
  runReference,
} from '../src/internal.js';
import { caseLabel, compareOutputs, values, type CaseResult } from './kernel_check.js';

const TOL = 2e-3;

/** Whether case `index` of `def` has a gradient to check (a backward, and not marked too big for one). */
export function hasGradientCheck(def: AnyOpDef, index: number): boolean {
  return def.backward !== null && !def.cases[index].noGradCheck;
}

/** The backward row of case `index`: gradients of every differentiable float input. */
export async function checkGradient(
  engine: Engine,
  op: string,
  def: AnyOpDef,
  index: number,
): Promise<CaseResult> {
  const c = def.cases[index];
  const shapes = c.inputs.map((s) => formatShape(s.shape)).join(' ');
  const name = `${caseLabel(op, def, index)} backward`;
  const rng = new Random(2000 + index);
  const vals = c.inputs.map((s) => values(s, rng));
  const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({
    shape: s.shape,
    dtype: s.dtype,
    data: Float64Array.from(Float32Array.from(vals[k])),
  }));
  const differentiable = c.inputs.map((s) => (s.dtype ?? 'float32') === 'float32' && s.grad !== false);
  try {
    const out0 = runReference(def, cpuIn, c.attrs)[0];
    const dy = Array.from({ length: out0.length }, () => rng.normal());
    const t0 = performance.now();
    const grads = await engine.tidyAsync(async () => {
      const gpuIn = c.inputs.map((s, k) => engine.fromArray(vals[k], s.shape, s.dtype ?? 'float32'));
      gpuIn.forEach((t, k) => (t.requiresGrad = differentiable[k]));
      const [y] = apply(def, gpuIn, c.attrs);
      backward(y, engine.fromArray(dy, y.shape));
      return Promise.all(gpuIn.map((t) => (t.requiresGrad && t.grad ? t.grad.data() : null)));
    });
    const gpuMs = performance.now() - t0;
    const t1 = performance.now();
    const ks = differentiable.flatMap((d, k) => (d ? [k] : []));
    const expected = ks.map((k) => finiteDifference(def, cpuIn, c.attrs, dy, k));
    const cpuMs = performance.now() - t1;
    const actual = ks.map((k) => grads[k] ?? new Float32Array(0));
    const r = compareOutputs(actual, expected, TOL, TOL);
    return { op: name, shapes, scale: 1, ...r, pass: r.pass && ks.length > 0, gpuMs, cpuMs };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return {
      op: name,
      shapes,
      scale: 1,
      maxAbs: NaN,
      maxRel: NaN,
      pass: false,
      gpuMs: NaN,
      cpuMs: NaN,
      error,
    };
  }
}
