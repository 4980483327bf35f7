/** The current engine, so that factories like `tensor()` need no engine argument (as in PyTorch and TF.js). */
import { Engine, type Backend } from './engine.js';

let current: Engine | null = null;

/**
 * Creates the engine (WebGPU by default, or the CPU reference) and makes it current.
 * @throws Error with installation hints when WebGPU is requested and no adapter exists.
 */
export async function init(backend: Backend = 'webgpu'): Promise<Engine> {
  current = await Engine.create(backend);
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
