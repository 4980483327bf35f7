/** The current engine, so that factories like `tensor()` need no engine argument (as in PyTorch and TF.js). */
import type { GpuOptions } from './device.js';
import { Engine, type Backend } from './engine.js';

let current: Engine | null = null;

/** What {@link init} accepts besides a backend name. */
export interface InitOptions extends GpuOptions {
  /** Default `'webgpu'`. */
  backend?: Backend;
}

/**
 * Creates the engine (WebGPU by default, or the CPU reference) and makes it current. With options:
 * `kernels: 'auto' | 'software' | 'hardware'` forces a kernel set (else `WEBGPU_ATTENTION_KERNELS`, else the adapter
 * decides), `limits: 'default'` asks the device for no limits above WebGPU's defaults.
 * @throws Error with installation hints when WebGPU is requested and no adapter exists; Error when `kernels` or
 *   `limits` is not a known value.
 */
export async function init(options: Backend | InitOptions = 'webgpu'): Promise<Engine> {
  const { backend = 'webgpu', ...gpu } = typeof options === 'string' ? { backend: options } : options;
  current = await Engine.create(backend, gpu);
  return current;
}

/** The current engine. @throws Error when `init()` has not been awaited. */
export function engine(): Engine {
  if (!current) throw new Error('no engine: call `await init()` first');
  return current;
}

/** Makes `e` current (e.g. to switch between a WebGPU and a CPU engine in one process). */
export function setEngine(e: Engine | null): void {
  current = e;
}
