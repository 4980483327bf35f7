/**
 * awaitGpu (src/runtime/gpu_wait.ts): while a GPU promise is pending, Dawn's setImmediate polling is spaced out on
 * a timer after the first SPIN_MS, and the real setImmediate is back once no wait is pending. Timing is not tested;
 * only that the spacing is in place, scoped, and loses nothing.
 */
import { describe, expect, it } from 'vitest';
import { POLL_MS, SPIN_MS, awaitGpu } from '../src/runtime/gpu_wait.js';
import { useEngine } from './engine_fixture.js';

describe('awaitGpu', () => {
  const engine = useEngine();

  it('spaces setImmediate out only while a wait is pending, then restores it', async () => {
    const real = globalThis.setImmediate;
    let during: typeof setImmediate | null = null;
    const value = await awaitGpu(async () => {
      during = globalThis.setImmediate;
      // Past the fast-poll window, an immediate becomes a timer of POLL_MS.
      const t0 = performance.now();
      while (performance.now() - t0 < SPIN_MS * 2);
      const handle = globalThis.setImmediate(() => undefined) as unknown;
      expect(handle).not.toBeInstanceOf(real(() => undefined).constructor);
      globalThis.clearImmediate(handle as NodeJS.Immediate);
      const fired = await new Promise<number>((resolve) => globalThis.setImmediate(() => resolve(POLL_MS)));
      return fired;
    });
    expect(value).toBe(POLL_MS);
    expect(during).not.toBe(real);
    expect(globalThis.setImmediate).toBe(real);
  });

  it('nests: the spacing stays until the last wait ends, and rejections pass through', async () => {
    const real = globalThis.setImmediate;
    const inner = awaitGpu(() => Promise.reject(new Error('mapAsync failed')));
    const outer = awaitGpu(() => new Promise((r) => setTimeout(r, 5)));
    await expect(inner).rejects.toThrow('mapAsync failed');
    expect(globalThis.setImmediate).not.toBe(real);
    await outer;
    expect(globalThis.setImmediate).toBe(real);
  });

  it("completes the engine's readbacks through it", async () => {
    const e = engine();
    const { tensor, matmul } = await import('../src/index.js');
    const real = globalThis.setImmediate;
    const t = matmul(tensor([[1, 2, 3]]), tensor([[2], [1], [1]]));
    const read = t.data();
    // The wait has begun (the readback submitted its copy and is waiting through awaitGpu).
    await Promise.resolve();
    expect(globalThis.setImmediate).not.toBe(real);
    expect(Array.from(await read)).toEqual([7]);
    expect(globalThis.setImmediate).toBe(real);
    await e.sync();
    expect(globalThis.setImmediate).toBe(real);
    t.dispose();
  });
});
