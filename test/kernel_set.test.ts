/**
 * Kernel sets (src/runtime/kernel_set.ts): how the set is resolved (init option, then WEBGPU_ATTENTION_KERNELS, then
 * the adapter), that ops pick their kernels through it, and that bad values fail at the call that gave them.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { matmul } from '../src/ops/matmul.js';
import { maskedSoftmax } from '../src/ops/masked_softmax.js';
import { Engine } from '../src/runtime/engine.js';
import { init, setEngine } from '../src/runtime/global.js';
import { KERNELS_ENV, kernelsFromEnv, pick, resolveKernelSet } from '../src/runtime/kernel_set.js';

const engines: Engine[] = [];
afterAll(() => {
  setEngine(null);
  engines.forEach((e) => e.destroy());
});

describe('resolveKernelSet', () => {
  it('takes the option first, then the environment, then the adapter', () => {
    vi.stubEnv(KERNELS_ENV, '');
    try {
      expect(resolveKernelSet(undefined, true)).toBe('software');
      expect(resolveKernelSet('auto', false)).toBe('hardware');
      expect(resolveKernelSet('hardware', true)).toBe('hardware');
      vi.stubEnv(KERNELS_ENV, 'hardware');
      expect(kernelsFromEnv()).toBe('hardware');
      expect(resolveKernelSet('auto', true)).toBe('hardware');
      expect(resolveKernelSet('software', true)).toBe('software');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('rejects unknown values, naming them', () => {
    expect(() => resolveKernelSet('gpu' as never, true)).toThrow(/kernels must be .* got gpu/);
    vi.stubEnv(KERNELS_ENV, 'fast');
    try {
      expect(() => resolveKernelSet(undefined, true)).toThrow(
        `${KERNELS_ENV}=fast: expected software, hardware`,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('pick returns the entry of the set that runs', () => {
    expect(pick({ kernels: 'hardware' }, { software: 1, hardware: 2 })).toBe(2);
  });
});

describe('on WebGPU', () => {
  it('init({ kernels }) forces the set and the adapter report says which one runs', async () => {
    const e = await init({ kernels: 'hardware' });
    engines.push(e);
    expect(e.profile.kernels).toBe('hardware');
    expect((e.adapter as { kernels: string }).kernels).toBe('hardware');
    expect(e.profile.software).toBe((e.adapter as { software: boolean }).software);
  });

  it('ops dispatch the kernels of the set, switched with setKernels', async () => {
    const e = await Engine.create('webgpu', { kernels: 'software' });
    engines.push(e);
    const dispatch = vi.spyOn(e, 'dispatch');
    const x = e.fromArray([1, 2, 3, 4], [2, 2]);
    const launched = (f: () => unknown) => {
      dispatch.mockClear();
      e.tidy(f);
      return dispatch.mock.calls.map((c) => c[0]);
    };
    expect(launched(() => maskedSoftmax(x))).toEqual(['masked_softmax_rows']);
    expect(launched(() => matmul(x, x))).not.toContain('matmul_tiled');
    e.setKernels('hardware');
    expect(launched(() => maskedSoftmax(x))).toEqual(['masked_softmax']);
    expect(launched(() => matmul(x, x))).toEqual(['matmul_tiled']);
    expect(() => e.setKernels('fast' as never)).toThrow(/expected 'software' or 'hardware', got fast/);
    x.dispose();
  });

  it('init rejects unknown kernels and limits before creating a device', async () => {
    await expect(init({ kernels: 'gpu' as never })).rejects.toThrow(
      /kernels must be 'auto', 'software' or 'hardware', got gpu/,
    );
    await expect(init({ limits: 'max' as never })).rejects.toThrow(
      /limits must be 'adapter' or 'default', got max/,
    );
  });
});
