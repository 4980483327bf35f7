/**
 * The engine a test file (or one describe block) runs on, set up once: `useEngine()` creates it in `beforeAll`,
 * makes it current before each test of its block, and destroys it in `afterAll`. Tests whose point is the engine's
 * own lifecycle (device loss, special limits, resuming on a new engine) create theirs by hand.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { GpuOptions } from '../src/runtime/device.js';
import { Engine, type Backend } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';

/** Both backends, for `describe.each(BACKENDS)` blocks that each call `useEngine(backend)`. */
export const BACKENDS = ['webgpu', 'cpu'] as const satisfies readonly Backend[];

export interface EngineFixtureOptions extends GpuOptions {
  /** Kernels to compile in `beforeAll` (`true`: every kernel the device supports), so no test pays for them. */
  compile?: boolean | string[];
  /** Default true. false: a second engine of the block that tests switch to themselves (e.g. the CPU reference). */
  current?: boolean;
}

/**
 * Registers the hooks of the calling scope (file or describe block) and returns an accessor for its engine, valid
 * inside tests and hooks. The engine is current at the start of every test in the scope (a nested block's
 * `useEngine` wins inside that block), so a test may switch with `setEngine` without affecting the next one.
 * @param backend default `'webgpu'`; `options` as {@link Engine.create}'s plus `compile` and `current`.
 */
export function useEngine(backend: Backend = 'webgpu', options: EngineFixtureOptions = {}): () => Engine {
  const { compile, current = true, ...gpu } = options;
  let engine: Engine | null = null;
  beforeAll(async () => {
    engine = await Engine.create(backend, gpu);
    if (current) setEngine(engine);
    if (compile) await engine.compileAll(compile === true ? undefined : compile);
  });
  if (current) beforeEach(() => setEngine(engine));
  afterAll(() => {
    if (current) setEngine(null);
    engine?.destroy();
    engine = null;
  });
  return () => {
    if (!engine)
      throw new Error(
        `useEngine('${backend}'): the engine exists only inside the tests and hooks of its block`,
      );
    return engine;
  };
}
