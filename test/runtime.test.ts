/** The runtime's promises: clear errors on bad input, no use after dispose, reflected bindings, no leaks. */
import { describe, expect, it, vi } from 'vitest';
import { add, fill, mul } from '../src/ops/elementwise.js';
import { matmul } from '../src/ops/matmul.js';
import { sum } from '../src/ops/reduce.js';
import { reshape } from '../src/ops/shape.js';
import { backward } from '../src/ops/autograd.js';
import { INSTALL_HINT, requestGpu } from '../src/runtime/device.js';
import { Kernel } from '../src/runtime/kernel.js';
import { useEngine } from './engine_fixture.js';

const engine = useEngine();

describe('bad input', () => {
  it('a broadcast mismatch names the op and both shapes', () => {
    const a = engine().fromArray([1, 2, 3], [3]);
    const b = engine().fromArray([1, 2], [2]);
    expect(() => add(a, b)).toThrow('add: shapes cannot be broadcast together (got (3,), (2,))');
  });

  it('a matmul mismatch names the op and both shapes', () => {
    const a = engine().fromArray(new Array(6).fill(1), [2, 3]);
    const b = engine().fromArray(new Array(8).fill(1), [4, 2]);
    expect(() => matmul(a, b)).toThrow(/matmul.*\(2, 3\).*\(4, 2\)/);
  });

  it('a tensor used after dispose throws', async () => {
    const a = engine().fromArray([1, 2], [2]);
    a.dispose();
    expect(() => mul(a, a)).toThrow(/used after dispose/);
    await expect(a.data()).rejects.toThrow(/used after dispose/);
  });

  it('a wrong or missing binding names the kernel and the binding', () => {
    const y = engine().empty([4]);
    expect(() => engine().dispatch('fill', { bindings: {}, params: { n: 4, value: 1 }, groups: 1 })).toThrow(
      'fill: missing binding "y"',
    );
    expect(() =>
      engine().dispatch('fill', { bindings: { y, x: y }, params: { n: 4, value: 1 }, groups: 1 }),
    ).toThrow('fill: unknown binding "x"');
    expect(() => engine().dispatch('fill', { bindings: { y }, params: { n: 4 }, groups: 1 })).toThrow(
      'kernel "fill": missing param "value"',
    );
    y.dispose();
  });

  it('WGSL compile errors are reported with the file line', async () => {
    const k = new Kernel(
      'broken',
      engine().device,
      '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = 1u;\n}\n',
    );
    const msg = await k.diagnostics();
    expect(msg).toMatch(/shaders\/broken\.wgsl:3:\d+: error/);
    expect(msg).toContain('let x: f32 = 1u;');
    // The device also raised it as a validation error, which the engine reports at its next sync or readback.
    await expect(engine().sync()).rejects.toThrow(/WebGPU validation error .*cannot initialize/s);
    await engine().sync();
  });

  it('no adapter gives the installation hint', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    try {
      await expect(requestGpu()).rejects.toThrow(INSTALL_HINT);
      expect(INSTALL_HINT).toContain('bookworm-backports');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('autograd', () => {
  it('accumulates gradients over two backward calls and through reuse', async () => {
    const x = engine().fromArray([1, 2, 3], [3]).keep();
    x.requiresGrad = true;
    for (let i = 0; i < 2; i++) engine().tidy(() => backward(sum(mul(x, x))));
    expect(Array.from(await x.grad!.data())).toEqual([4, 8, 12]);
    x.dispose();
  });

  it('reduces broadcast gradients to the operand shape', async () => {
    const a = engine().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = engine().fromArray([10, 20, 30], [3]);
    a.requiresGrad = b.requiresGrad = true;
    backward(sum(mul(reshape(a, [2, 3]), b)));
    expect(Array.from(await b.grad!.data())).toEqual([5, 7, 9]);
    expect(Array.from(await a.grad!.data())).toEqual([10, 20, 30, 10, 20, 30]);
  });

  it('records nothing in noGrad mode', () => {
    const a = engine().fromArray([1], [1]);
    a.requiresGrad = true;
    const y = engine().noGrad(() => mul(a, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.creator).toBeNull();
  });
});

describe('memory', () => {
  it('tidy frees intermediates and keeps what it returns', () => {
    const before = engine().memoryStats();
    const kept = engine().tidy(() => add(fill([5], 1), fill([5], 2)));
    const after = engine().memoryStats();
    expect(after.tensors).toBe(before.tensors + 1);
    kept.dispose();
    expect(engine().memoryStats().inUse).toBe(before.inUse);
  });
});

describe('errors inside tidy', () => {
  it('a failing step frees what it created and leaves the engine usable', () => {
    const before = engine().memoryStats().tensors;
    expect(() =>
      engine().tidy(() => {
        const a = fill([4], 1);
        add(a, fill([3], 1)); // shape error
      }),
    ).toThrow('add: shapes cannot be broadcast together (got (4,), (3,))');
    expect(engine().memoryStats().tensors).toBe(before);
  });
});
