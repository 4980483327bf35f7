/**
 * The demo's kernel check: every registry case on WebGPU against the op's float64 CPU reference, with the
 * same inputs (rounded to float32, as the GPU sees them) and the tolerance test/registry.test.ts uses.
 */
import { Random } from '../src/data/random.js';
import { registry } from '../src/ops/registry.js';
import type { Engine } from '../src/runtime/engine.js';
import type { AnyOpDef, CpuTensor, InputSpec } from '../src/runtime/op.js';
import { apply } from '../src/runtime/op.js';
import { formatShape, numel } from '../src/runtime/tensor.js';

const ATOL = 1e-4;
const RTOL = 1e-3;

export interface CaseResult {
  op: string;
  shapes: string;
  maxAbs: number;
  maxRel: number;
  pass: boolean;
  gpuMs: number;
  cpuMs: number;
  error?: string;
}

/** Every (op, case) pair with cases, in registry order. */
export function kernelCases(): { op: string; def: AnyOpDef; index: number }[] {
  return (Object.entries(registry) as [string, AnyOpDef][]).flatMap(([op, def]) =>
    def.cases.map((_c, index) => ({ op, def, index })),
  );
}

function values(spec: InputSpec, rng: Random): number[] {
  const fill = spec.fill ?? 'normal';
  if (typeof fill === 'object' && 'values' in fill) return fill.values;
  return Array.from({ length: numel(spec.shape) }, () => {
    if (fill === 'normal') return rng.normal();
    if (fill === 'positive') return rng.uniform(0.5, 2);
    return rng.int(fill.int);
  });
}

/** Runs case `index` of `def` on the GPU and the CPU reference and compares every output. */
export async function checkCase(
  engine: Engine,
  op: string,
  def: AnyOpDef,
  index: number,
): Promise<CaseResult> {
  const c = def.cases[index];
  const shapes = c.inputs.map((s) => formatShape(s.shape)).join(' ');
  const rng = new Random(1000 + index);
  const vals = c.inputs.map((s) => values(s, rng));
  const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({
    shape: s.shape,
    data: Float64Array.from(Float32Array.from(vals[k])),
  }));
  try {
    const t0 = performance.now();
    const expected = def.cpu(cpuIn, c.attrs);
    const cpuMs = performance.now() - t0;
    const t1 = performance.now();
    const actual = await engine.tidyAsync(async () => {
      const gpuIn = c.inputs.map((s, k) => engine.fromArray(vals[k], s.shape, s.dtype ?? 'float32'));
      const outs = apply(def, gpuIn, c.attrs);
      return Promise.all(outs.map((o) => o.data()));
    });
    const gpuMs = performance.now() - t1;
    let maxAbs = 0;
    let maxRel = 0;
    let pass = true;
    expected.forEach((e, o) => {
      const a = actual[o];
      if (a.length !== e.length) pass = false;
      for (let i = 0; i < e.length; i++) {
        const abs = Math.abs(a[i] - e[i]);
        if (!(abs <= ATOL + RTOL * Math.abs(e[i]))) pass = false;
        if (!(abs <= maxAbs)) maxAbs = abs;
        const rel = abs / Math.max(Math.abs(e[i]), 1e-6);
        if (!(rel <= maxRel)) maxRel = rel;
      }
    });
    return { op, shapes, maxAbs, maxRel, pass, gpuMs, cpuMs };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { op, shapes, maxAbs: NaN, maxRel: NaN, pass: false, gpuMs: NaN, cpuMs: NaN, error };
  }
}
