/** Shared test utilities: building inputs from op cases, float64 finite differences, tolerant comparison. */
import { expect } from 'vitest';
import { Random } from '../src/data/random.js';
import type { Engine } from '../src/runtime/engine.js';
import type { CpuTensor, InputSpec } from '../src/runtime/op.js';
import { numel, type Tensor } from '../src/runtime/tensor.js';

export { finiteDifference } from '../src/runtime/gradcheck.js';

export function makeValues(spec: InputSpec, rng: Random): number[] {
  const n = numel(spec.shape);
  const fill = spec.fill ?? 'normal';
  if (typeof fill === 'object' && 'values' in fill) return fill.values;
  return Array.from({ length: n }, () => {
    if (fill === 'normal') return rng.normal();
    if (fill === 'positive') return rng.uniform(0.5, 2);
    return rng.int(fill.int);
  });
}

/** Values rounded to float32, as the GPU sees them. */
export function f32(values: number[]): Float64Array {
  return Float64Array.from(Float32Array.from(values));
}

/**
 * A case's inputs drawn from `seed`: the values to upload, and as the CPU references see them (rounded to float32);
 * `rng` goes on to draw what else the test needs (dy).
 */
export function drawCase(c: { inputs: InputSpec[] }, seed: number) {
  const rng = new Random(seed);
  const values = c.inputs.map((s) => makeValues(s, rng));
  const cpuIn: CpuTensor[] = c.inputs.map((s, k) => ({
    shape: s.shape,
    dtype: s.dtype,
    data: f32(values[k]),
  }));
  return { rng, values, cpuIn };
}

export function upload(engine: Engine, spec: InputSpec, values: number[]): Tensor {
  return engine.fromArray(values, spec.shape, spec.dtype ?? 'float32');
}

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise; reports the worst element. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-4, rtol = 1e-3, what = '' } = {},
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0)
    expect.fail(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
    );
}

/**
 * Makes the adapter report subgroups of `min` to `max` lanes until the returned function is called, so that the
 * plans pick what they would on such a device (SwiftShader's 4 lanes on lavapipe's 8: the kernels written for 4 lanes
 * run correctly on 8).
 */
export function reportSubgroupSizes(engine: Engine, min: number, max: number): () => void {
  const adapter = engine.gpu!.adapter;
  const own = Object.getOwnPropertyDescriptor(adapter, 'info');
  const { vendor, architecture, device, description } = adapter.info;
  const info = { vendor, architecture, device, description, subgroupMinSize: min, subgroupMaxSize: max };
  Object.defineProperty(adapter, 'info', { value: info, configurable: true });
  return () => {
    if (own) Object.defineProperty(adapter, 'info', own);
    else delete (adapter as { info?: unknown }).info;
  };
}
