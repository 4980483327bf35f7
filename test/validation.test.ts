/**
 * Bad input raises a clear error at the call that caused it, as PyTorch does, and leaves nothing behind: labels and
 * indices out of range (checked at the call when the host holds them, by the kernels' device-side check when only
 * the GPU does), PyTorch's ignoreIndex, plain-array valid lengths, int32 uploads, tensor sizes over the device's
 * limits, GPU errors surfacing with the GPU's own message, and tidy given an async function.
 */
import { describe, expect, it } from 'vitest';
import { scaledDotProductAttention } from '../src/ops/attention.js';
import { crossEntropy } from '../src/ops/cross_entropy.js';
import { add, fill, zeros } from '../src/ops/elementwise.js';
import { embedding } from '../src/ops/embedding.js';
import { hardAttention } from '../src/ops/hard_attention.js';
import { maskedSoftmax } from '../src/ops/masked_softmax.js';
import { reshape } from '../src/ops/shape.js';
import { backward } from '../src/ops/autograd.js';
import { Engine } from '../src/runtime/engine.js';
import { GpuError, OpError } from '../src/runtime/errors.js';
import { GpuErrorScopes } from '../src/runtime/gpu_errors.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { maskedSoftmaxCELoss } from '../src/train/loss.js';
import { BACKENDS, useEngine } from './engine_fixture.js';

// One WebGPU engine for the file: the blocks on both backends and the WebGPU-only ones share it.
const gpu = useEngine();

const logits = [1, 2, 3, 1, 1, 1, 0, 10, -10, -1, 0.5, 2];
/** log Σ exp(x) − x[label] per row of `logits` with labels [2, 0, 1, 0], in float64. */
const losses = [0.40760596444438013, 1.0986122886681096, 4.5400960276609226e-5, 3.241311296657157];

/** Runs `fn` and checks that it throws `pattern` and that every tensor it created was freed. */
async function throwsAndFrees(e: Engine, fn: () => unknown, pattern: RegExp | string, type = OpError) {
  const before = e.memoryStats().tensors;
  let thrown: unknown = null;
  try {
    await e.tidyAsync(async () => {
      await fn();
    });
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).message).toMatch(pattern);
  expect(e.memoryStats().tensors).toBe(before);
}

describe.each(BACKENDS)('on %s', (backend) => {
  const engine = backend === 'webgpu' ? gpu : useEngine('cpu');

  describe('labels and indices out of range raise at the call', () => {
    it('crossEntropy: label 5 or −1 with 3 classes names the op, the value and its row', async () => {
      const x = () => engine().fromArray(logits, [4, 3]);
      await throwsAndFrees(
        engine(),
        () => crossEntropy(x(), engine().fromArray([2, 0, 5, 0], [4], 'int32')),
        'cross_entropy: label 5 at [2] is outside [0, 3) and is not ignoreIndex (-100) (got (4, 3), (4,))',
      );
      await throwsAndFrees(
        engine(),
        () => crossEntropy(x(), engine().fromArray([-1, 0, 1, 0], [4], 'int32')),
        /label -1 at \[0\]/,
      );
      // Through the d2l loss too, with the position in the flattened (B·T) labels.
      await throwsAndFrees(
        engine(),
        () =>
          maskedSoftmaxCELoss(
            fill([2, 2, 3], 0, engine()),
            engine().fromArray([0, 1, 2, 3], [2, 2], 'int32'),
            [2, 2],
          ),
        /cross_entropy: label 3 at \[3\] is outside \[0, 3\)/,
      );
    });

    it('embedding: an index outside [0, V) names the op, the value and its position', async () => {
      const w = () => engine().fromArray([0, 1, 10, 11, 20, 21], [3, 2]);
      await throwsAndFrees(
        engine(),
        () => embedding(w(), engine().fromArray([0, 2, 3, 1], [2, 2], 'int32')),
        'embedding: index 3 at [1, 0] is outside [0, 3) (got (3, 2), (2, 2))',
      );
      await throwsAndFrees(
        engine(),
        () => embedding(w(), engine().fromArray([-1], [1], 'int32')),
        /index -1 at \[0\]/,
      );
    });

    it('labels computed by an op (no host copy on WebGPU) raise at the next readback there', async () => {
      // Hard attention picks key 3 of 4 for the first query: as a label of a 3-class loss it is out of range.
      const scores = () => engine().fromArray([0, 0, 0, 9, 9, 0, 0, 0], [1, 2, 4]);
      const values = () => fill([1, 4, 1], 1, engine());
      const labels = () => reshape(hardAttention(scores(), values()).indices, [2]);
      const loss = () => crossEntropy(engine().fromArray(logits.slice(0, 6), [2, 3]), labels());
      if (backend === 'cpu') {
        // Every CPU tensor is on the host: checked at the call.
        await throwsAndFrees(engine(), loss, 'label 3 at [0] is outside [0, 3)');
        return;
      }
      const before = engine().memoryStats().tensors;
      const l = engine().tidy(loss); // no throw, and no wait for the GPU to validate
      await expect(l.data()).rejects.toThrow(
        /cross_entropy: label 3 at row 0 is outside \[0, 3\) and is not ignoreIndex \(-100\); found by the GPU kernel/,
      );
      l.dispose();
      // Reported once: the next readback is clean.
      const ok = engine().fromArray([7], [1]);
      expect(Array.from(await ok.data())).toEqual([7]);
      ok.dispose();
      // The same for embedding, raised by sync().
      const y = engine().tidy(() =>
        embedding(fill([3, 2], 1, engine()), reshape(hardAttention(scores(), values()).indices, [2])),
      );
      await expect(engine().sync()).rejects.toThrow(
        /embedding: index 3 at flat position 0 is outside \[0, 3\)/,
      );
      y.dispose();
      await engine().sync();
      expect(engine().memoryStats().tensors).toBe(before);
    });
  });

  describe('ignoreIndex, as PyTorch', () => {
    it('rows labelled −100 add 0, are left out of the mean and get no gradient', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray(logits, [4, 3]);
        x.requiresGrad = true;
        const t = engine().fromArray([2, -100, 1, -100], [4], 'int32');
        const mean = crossEntropy(x, t);
        backward(mean);
        expect(await mean.item()).toBeCloseTo((losses[0] + losses[2]) / 2, 5);
        const g = Array.from(await x.grad!.data());
        expect(g.slice(3, 6)).toEqual([0, 0, 0]);
        expect(g.slice(9, 12)).toEqual([0, 0, 0]);
        const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        expect(g[2]).toBeCloseTo((Math.exp(3) / z - 1) / 2, 6);
        const none = Array.from(await crossEntropy(x, t, 'none').data());
        expect(none[1]).toBe(0);
        expect(none[3]).toBe(0);
        expect(await crossEntropy(x, t, 'sum').item()).toBeCloseTo(losses[0] + losses[2], 5);
      });
    });

    it('a custom ignoreIndex inside [0, C); every row ignored gives NaN', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray(logits, [4, 3]);
        const t = engine().fromArray([2, 0, 1, 0], [4], 'int32');
        const l = crossEntropy(x, t, { ignoreIndex: 0 });
        expect(await l.item()).toBeCloseTo((losses[0] + losses[2]) / 2, 5);
        expect(
          await crossEntropy(x, engine().fromArray([-100, -100, -100, -100], [4], 'int32')).item(),
        ).toBeNaN();
      });
    });

    it('maskedSoftmaxCELoss takes ignoreIndex', async () => {
      await engine().tidyAsync(async () => {
        const x = fill([1, 3, 4], 0, engine());
        const t = engine().fromArray([1, 7, 2], [1, 3], 'int32');
        const l = maskedSoftmaxCELoss(x, t, [3], { ignoreIndex: 7 });
        expect(await l.item()).toBeCloseTo((2 * Math.log(4)) / 3, 5);
      });
    });
  });

  describe('valid lengths and int32 values', () => {
    it.each([
      [1.5, /validLens\[1\] = 1.5 is not a valid length/],
      [NaN, /validLens\[1\] = NaN/],
      [3e9, /validLens\[1\] = 3000000000/],
      [-1, /validLens\[1\] = -1/],
    ])('maskedSoftmax, attention and the d2l loss reject the length %s', async (bad, pattern) => {
      const x = () => fill([2, 1, 3], 0, engine());
      await throwsAndFrees(engine(), () => maskedSoftmax(x(), [2, bad]), pattern);
      await throwsAndFrees(
        engine(),
        () => scaledDotProductAttention(x(), x(), x(), { validLens: [2, bad] }),
        pattern,
      );
      await throwsAndFrees(engine(), () => hardAttention(x(), x(), { validLens: [2, bad] }), pattern);
      await throwsAndFrees(
        engine(),
        () => maskedSoftmaxCELoss(x(), engine().fromArray([0, 0], [2, 1], 'int32'), [2, bad]),
        pattern,
      );
    });

    it('rows of unequal length are rejected', async () => {
      await throwsAndFrees(
        engine(),
        () => maskedSoftmax(fill([2, 2, 3], 0, engine()), [[1, 2], [1]]),
        /rows have different/,
      );
    });

    it('an int32 upload rejects values it would truncate or wrap', async () => {
      for (const v of [1.5, NaN, Infinity, 2 ** 31])
        await throwsAndFrees(
          engine(),
          () => engine().fromArray([0, v], [2], 'int32'),
          /int32 value .* at flat index 1/,
        );
    });
  });

  it('tidy given an async function throws, pointing to tidyAsync, and frees its tensors', () => {
    const before = engine().memoryStats().tensors;
    expect(() =>
      engine().tidy(async () => {
        fill([2], 1, engine());
        await Promise.resolve();
      }),
    ).toThrow(/engine\.tidy: the function returned a Promise.*engine\.tidyAsync/s);
    expect(engine().memoryStats().tensors).toBe(before);
  });
});

describe('GPU limits and errors (WebGPU)', () => {
  it('a tensor over maxStorageBufferBindingSize or maxBufferSize throws at creation, naming shape, bytes, limit', () => {
    const before = gpu().memoryStats().tensors;
    const binding = gpu().profile.limits.maxStorageBufferBindingSize;
    const tooBig = binding / 4 + 1;
    let err: unknown;
    try {
      zeros([tooBig]);
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('limit');
    expect((err as Error).message).toContain(`creating tensor (${tooBig},) float32`);
    expect((err as Error).message).toContain(`needs ${(binding + 4).toLocaleString('en-US')} bytes`);
    expect((err as Error).message).toContain(
      `maxStorageBufferBindingSize of ${binding.toLocaleString('en-US')}`,
    );
    // 2³¹ elements: refused before any allocation, instead of an empty OperationError at data().
    expect(() => gpu().fromArray(new Int32Array(0), [2 ** 16, 2 ** 15], 'int32')).toThrow(
      /values do not fill/,
    );
    expect(() => zeros([2 ** 16, 2 ** 15])).toThrow(GpuError);
    expect(gpu().memoryStats().tensors).toBe(before);
  });

  it('a GPU validation error surfaces at the next readback as a GpuError with the GPU message, once', async () => {
    const before = gpu().memoryStats().tensors;
    const a = gpu().fromArray([1, 2], [2]);
    // Any device call the engine's error scopes cover, e.g. a buffer over the device limit.
    gpu().device.createBuffer({ size: 2 ** 52, usage: GPUBufferUsage.STORAGE });
    const err = await a.data().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('validation');
    expect((err as GpuError).gpuMessage).toMatch(/exceeds the max buffer size/);
    expect((err as Error).message).toMatch(/^WebGPU validation error .*: Buffer size/s);
    expect(Array.from(await a.data())).toEqual([1, 2]);
    a.dispose();
    expect(gpu().memoryStats().tensors).toBe(before);
  });

  it('a failed submit is reported with the first error and its kernels, not blamed on a later op', async () => {
    // An engine of its own: the test breaks one of its pooled buffers on purpose.
    const own = await Engine.create('webgpu');
    try {
      const a = own.fromArray([1, 2, 3], [3]);
      a.buffer.destroy();
      const b = add(a, 1);
      own.flush();
      const later = own.fromArray([5], [1]);
      const err = await later.data().catch((x: unknown) => x);
      expect(err).toBeInstanceOf(GpuError);
      expect((err as Error).message).toMatch(/at a submit .*recording 1 dispatch of unary/s);
      expect((err as GpuError).gpuMessage).toMatch(/destroyed/i);
      // Reported once: unrelated work afterwards reads back cleanly.
      expect(Array.from(await later.data())).toEqual([5]);
      void b;
    } finally {
      own.destroy();
    }
  });

  it('a captured step replayed with labels out of range raises at the next readback', async () => {
    const labels = gpu().fromArray([0, 1], [2], 'int32');
    const x = gpu().fromArray(logits.slice(0, 6), [2, 3]);
    const graph = gpu().capture(() => crossEntropy(x, labels), { inputs: { labels } });
    expect(Number.isFinite(await graph.result.item())).toBe(true);
    graph.replay({ labels: [0, 4] });
    await expect((graph.result as Tensor).data()).rejects.toThrow(/cross_entropy: label 4 at row 1/);
    graph.replay({ labels: [0, 1] });
    await graph.result.data();
    graph.dispose();
    labels.dispose();
    x.dispose();
  });
});

describe('GpuErrorScopes (a scripted device)', () => {
  class GPUOutOfMemoryError {
    constructor(readonly message: string) {}
  }
  class GPUValidationError {
    constructor(readonly message: string) {}
  }
  /** A device whose scopes, popped in order, report `errors` (innermost filter first: validation, oom, internal). */
  function device(errors: (object | null)[]) {
    let listener: ((ev: unknown) => void) | null = null;
    const dev = {
      pushErrorScope: () => {},
      popErrorScope: () => Promise.resolve(errors.shift() ?? null),
      addEventListener: (_: string, fn: (ev: unknown) => void) => (listener = fn),
    };
    return {
      dev: dev as unknown as GPUDevice,
      fire: (error: object) => listener!({ error, preventDefault() {} }),
    };
  }

  it('reports an out-of-memory error with its kind, the GPU message and the kernels before the submit', async () => {
    const { dev } = device([null, new GPUOutOfMemoryError('Allocation of 64 GiB failed'), null]);
    const scopes = new GpuErrorScopes(dev);
    scopes.enter('matmul');
    scopes.enter('add_n');
    scopes.close('at a submit');
    const err = await scopes.take();
    expect(err).toBeInstanceOf(GpuError);
    expect(err!.kind).toBe('out-of-memory');
    expect(err!.message).toBe(
      'WebGPU out-of-memory error at a submit (the device calls since the previous submit, recording 2 dispatches ' +
        'of matmul, add_n): Allocation of 64 GiB failed',
    );
    expect(await scopes.take()).toBeNull();
  });

  it('puts the first error first, appends the later ones, and never reports an empty message', async () => {
    const { dev, fire } = device([
      new GPUValidationError(''),
      null,
      null,
      new GPUValidationError('Invalid BindGroup'),
    ]);
    const scopes = new GpuErrorScopes(dev);
    scopes.enter('embedding');
    scopes.close('at a submit');
    scopes.enter();
    scopes.close('while reading tensor #3 (2,) back');
    fire(new GPUValidationError('outside'));
    const err = await scopes.take();
    expect(err!.message).toMatch(
      /^WebGPU validation error outside any engine call: outside\n\(then 2 later errors/,
    );
    expect(err!.message).toContain('(the GPU gave no message)');
    expect(err!.message).toContain('while reading tensor #3 (2,) back: Invalid BindGroup');
  });
});
