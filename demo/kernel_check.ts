/**
 * The demo's kernel check: every registry case on WebGPU against the op's float64 CPU reference, with the
 * same inputs (rounded to float32, as the GPU sees them) and the tolerance test/registry.test.ts uses. The user's
 * size multiplier scales every dimension larger than 1 of every input (1-sized dims stay, they broadcast).
 */
import { type Engine, Random } from '../src/browser.js';
import {
  type AnyOpDef,
  apply,
  type CpuTensor,
  formatShape,
  type InputSpec,
  numel,
  type OpCase,
  runReference,
  registry,
} from '../src/internal.js';

const ATOL = 1e-4;
const RTOL = 1e-3;

/** Scaled cases stay under this many input elements (or the case's own size, if larger), so the float64 CPU
 * reference, which runs on the page's thread, stays within a second or so. */
const MAX_ELEMENTS = 1 << 20;

export interface CaseResult {
  /** The row's name ({@link caseLabel}; `… backward` for a gradient row). */
  op: string;
  shapes: string;
  /** The multiplier actually applied (smaller than asked when the case has fixed values or would be too big). */
  scale: number;
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

/**
 * A row's name: the op, and the case's name where the registry gives one, so the 39 rows of `unary` and the 24 of
 * `binary` say which function they check (`unary tanh`, `binary add`).
 */
export function caseLabel(op: string, def: AnyOpDef, index: number): string {
  const name = def.cases[index].name;
  return name ? `${op} ${name}` : op;
}

const totalElements = (inputs: InputSpec[]) => inputs.reduce((n, s) => n + numel(s.shape), 0);

/**
 * Case `c` with every dimension > 1 multiplied by the largest factor ≤ `scale` that keeps it under MAX_ELEMENTS;
 * cases with explicit input values keep their shapes (factor 1).
 */
export function scaledCase<A>(c: OpCase<A>, scale: number): { c: OpCase<A>; factor: number } {
  if (c.inputs.some((s) => typeof s.fill === 'object' && 'values' in s.fill)) return { c, factor: 1 };
  const limit = Math.max(MAX_ELEMENTS, totalElements(c.inputs));
  for (let f = Math.max(1, Math.floor(scale)); f > 1; f--) {
    const inputs = c.inputs.map((s) => ({ ...s, shape: s.shape.map((d) => (d > 1 ? d * f : d)) }));
    if (totalElements(inputs) <= limit) return { c: { ...c, inputs }, factor: f };
  }
  return { c, factor: 1 };
}

/** Random inputs as the registry test draws them (its `fill` kinds). */
export function values(spec: InputSpec, rng: Random): number[] {
  const fill = spec.fill ?? 'normal';
  if (typeof fill === 'object' && 'values' in fill) return fill.values;
  return Array.from({ length: numel(spec.shape) }, () => {
    if (fill === 'normal') return rng.normal();
    if (fill === 'positive') return rng.uniform(0.5, 2);
    return rng.int(fill.int);
  });
}

/** Largest absolute and relative errors of `actual` against `expected`, and whether every element is within
 * atol + rtol·|expected| (NaN fails). */
export function compareOutputs(
  actual: ArrayLike<number>[],
  expected: ArrayLike<number>[],
  atol: number,
  rtol: number,
): { maxAbs: number; maxRel: number; pass: boolean } {
  let maxAbs = 0;
  let maxRel = 0;
  let pass = actual.length === expected.length;
  expected.forEach((e, o) => {
    const a = actual[o];
    if (!a || a.length !== e.length) return void (pass = false);
    for (let i = 0; i < e.length; i++) {
      const abs = Math.abs(a[i] - e[i]);
      if (!(abs <= atol + rtol * Math.abs(e[i]))) pass = false;
      if (!(abs <= maxAbs)) maxAbs = abs;
      const rel = abs / Math.max(Math.abs(e[i]), 1e-6);
      if (!(rel <= maxRel)) maxRel = rel;
    }
  });
  return { maxAbs, maxRel, pass };
}

/**
 * Runs case `index` of `def`, its shapes scaled by `scale` (see {@link scaledCase}), on the GPU and the CPU
 * reference and compares every output. When the op rejects the scaled shapes (a size limit such as attention's
 * head size ≤ 128), the case runs at its registry size and `scale` says 1.
 */
export async function checkCase(
  engine: Engine,
  op: string,
  def: AnyOpDef,
  index: number,
  scale = 1,
): Promise<CaseResult> {
  const scaled = scaledCase(def.cases[index], scale);
  if (scaled.factor > 1) {
    const r = await runCase(engine, op, def, scaled.c, index, scaled.factor);
    if (!r.error) return r;
  }
  return runCase(engine, op, def, def.cases[index], index, 1);
}

async function runCase(
  engine: Engine,
  op: string,
  def: AnyOpDef,
  c: AnyOpDef['cases'][number],
  index: number,
  scale: number,
): Promise<CaseResult> {
  const shapes = c.inputs.map((s) => formatShape(s.shape)).join(' ');
  const label = caseLabel(op, def, index);
  const rng = new Random(1000 + index);
  const vals = c.inputs.map((s) => values(s, rng));
  const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({
    shape: s.shape,
    dtype: s.dtype,
    data: Float64Array.from(Float32Array.from(vals[k])),
  }));
  try {
    const t0 = performance.now();
    const expected = runReference(def, cpuIn, c.attrs);
    const cpuMs = performance.now() - t0;
    const t1 = performance.now();
    const actual = await engine.tidyAsync(async () => {
      const gpuIn = c.inputs.map((s, k) => engine.fromArray(vals[k], s.shape, s.dtype ?? 'float32'));
      const outs = apply(def, gpuIn, c.attrs);
      return Promise.all(outs.map((o) => o.data()));
    });
    const gpuMs = performance.now() - t1;
    const { maxAbs, maxRel, pass } = compareOutputs(actual, expected, ATOL, RTOL);
    return { op: label, shapes, scale, maxAbs, maxRel, pass, gpuMs, cpuMs };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { op: label, shapes, scale, maxAbs: NaN, maxRel: NaN, pass: false, gpuMs: NaN, cpuMs: NaN, error };
  }
}
