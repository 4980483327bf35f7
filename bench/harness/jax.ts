/**
 * jax-js as a peer. It finds WebGPU through `navigator.gpu` (in Node, the Dawn instance that env.ts puts there
 * for TF.js too) and asks that adapter for a device of its own. Its arrays are lazy and reference-counted: a call
 * of a `jit` function only records work, which reading an output (or `blockUntilReady`, or `gpuBuffer`) submits;
 * every argument passed is consumed, so the case's inputs are passed as `.ref`.
 */
import type { Array as JaxArray, OwnedFunction } from '@jax-js/jax';
import { awaitGpu } from '../../src/internal.js';
import type { Jax, Variant } from './types.js';

/** The first line of an error, short enough for a table note. */
export function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n')[0];
  return line.length > 240 ? `${line.slice(0, 240)}…` : line;
}

/**
 * Loads jax-js and starts its WebGPU backend, its default device from then on. Call after `navigator.gpu` exists.
 * @returns the module, or null with the reason (no adapter, failed device request, import failure).
 */
export async function startJax(): Promise<{ jax: Jax | null; unavailable?: string }> {
  try {
    const jax: Jax = await import('@jax-js/jax');
    // init() logs and leaves WebGPU out when requestAdapter or requestDevice fails.
    if (!(await jax.init('webgpu')).includes('webgpu'))
      return { jax: null, unavailable: 'jax-js could not get a WebGPU device from navigator.gpu' };
    jax.defaultDevice('webgpu');
    return { jax };
  } catch (e) {
    return { jax: null, unavailable: `jax-js failed to start: ${reason(e)}` };
  }
}

/** Waits until jax-js's queue is idle (what it has submitted, not what it still holds lazily). */
export async function jaxSync(jax: Jax): Promise<void> {
  const queue = jax.getWebGPUDevice().queue;
  await awaitGpu(() => queue.onSubmittedWorkDone());
}

/** jax-js's adapter, to show that it runs on the same one as ours. */
export function jaxAdapterInfo(jax: Jax): string {
  const info = jax.getWebGPUDevice().adapterInfo as unknown as Record<string, unknown> | undefined;
  return info ? ['vendor', 'architecture', 'description'].map((k) => info[k] ?? '').join(' ') : '';
}

/** A float32 (or, from an Int32Array, int32) array on jax-js's WebGPU device, from a copy of `values`. */
export function jaxArray(jax: Jax, values: Float32Array | Int32Array, shape: number[]): JaxArray {
  const dtype = values instanceof Int32Array ? jax.numpy.int32 : jax.numpy.float32;
  // A copy: the cases pass subarray views, and jax-js may keep what it is given.
  return jax.numpy.array(values.slice(), { shape, dtype });
}

type JaxFn = OwnedFunction<(...args: JaxArray[]) => JaxArray | JaxArray[]>;

/** Calls `fn` on new references to `args` (which stay alive): the outputs, as a list. */
function call(fn: JaxFn, args: JaxArray[]): JaxArray[] {
  const out = fn(...args.map((a) => a.ref));
  return Array.isArray(out) ? out : [out];
}

/**
 * Submits the kernels that `arrays` are still waiting for, without reading anything back, and frees the arrays
 * (pass `.ref` to keep one). `gpuBuffer()` is jax-js's hand-over of a result to other WebGPU code: it dispatches
 * what the array needs, like `blockUntilReady`, but skips the read-back that `blockUntilReady` waits on, so the
 * harness then waits with `onSubmittedWorkDone` as for the other libraries.
 */
export async function jaxSubmit(arrays: JaxArray[]): Promise<void> {
  await Promise.all(arrays.map((a) => a.gpuBuffer()));
}

/** A timed jax-js variant: one call of `fn`, its outputs submitted and freed (the harness waits after it). */
export function jaxVariant(fn: JaxFn, args: JaxArray[], name = 'jax-js'): Variant {
  return { name, library: 'jax', run: () => jaxSubmit(call(fn, args)) };
}

/** One call of `fn`, every output read back (for validation). */
export async function jaxValues(fn: JaxFn, args: JaxArray[]): Promise<ArrayLike<number>[]> {
  // data() consumes its array.
  return Promise.all(call(fn, args).map((a) => a.data()));
}
