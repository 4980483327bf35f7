/**
 * Runs a computation on our float64-accumulating CPU reference backend (`Engine.create('cpu')`, the same ops'
 * `cpu` functions the test suite checks the kernels against) and hands back the values it reads.
 */
import { Engine, engine as current, setEngine } from '../../src/index.js';

/** Calls `fn` with a fresh CPU engine made current; restores the previous engine and frees the CPU one. */
export async function onCpu<T>(fn: (cpu: Engine) => Promise<T>): Promise<T> {
  const previous = current();
  const cpu = await Engine.create('cpu');
  setEngine(cpu);
  try {
    return await cpu.tidyAsync(() => fn(cpu));
  } finally {
    setEngine(previous);
    cpu.destroy();
  }
}

/** The leading `count` items of a row-major array whose items are `itemSize` values each. */
export function leading(values: ArrayLike<number>, count: number, itemSize: number): Float32Array {
  return Float32Array.from({ length: count * itemSize }, (_, i) => values[i]);
}

/** `fn`'s promise, computed on the first call only (the reference is shared by every library's validation). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= fn());
}
