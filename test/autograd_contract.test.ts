/**
 * The autograd contract, PyTorch's: a graph is back-propagated once unless the first call retains it, `dy` has the
 * output's exact shape, and a failed call changes no gradient — on WebGPU and the CPU reference.
 */
import { describe, expect, it } from 'vitest';
import { fill, mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import { AutogradError } from '../src/runtime/errors.js';
import { BACKENDS, useEngine } from './engine_fixture.js';

describe.each(BACKENDS)('on %s', (backend) => {
  const engine = useEngine(backend);

  it('a second backward through the same graph throws and leaves the gradients as they were', async () => {
    const before = engine().memoryStats().tensors;
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([1, 2, 3], [3]);
      x.requiresGrad = true;
      const y = sum(mul(x, x));
      backward(y);
      expect(() => backward(y)).toThrow(AutogradError);
      expect(() => backward(y)).toThrow(/backward through the graph a second time.*retainGraph: true/s);
      // Also through a new output built on the consumed graph, as PyTorch's freed buffers would.
      expect(() => backward(mul(y, 2))).toThrow(AutogradError);
      expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6]);
    });
    expect(engine().memoryStats().tensors).toBe(before);
  });

  it('retainGraph: true allows another backward, which accumulates; the one without it consumes the graph', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([1, 2, 3], [3]);
      x.requiresGrad = true;
      const y = sum(mul(x, x));
      backward(y, { retainGraph: true });
      backward(y, undefined, { retainGraph: true });
      backward(y);
      expect(Array.from(await x.grad!.data())).toEqual([6, 12, 18]);
      expect(() => backward(y)).toThrow(AutogradError);
    });
  });

  it('a leaf (no graph) may be back-propagated again, as in PyTorch', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([1, 2], [2]);
      x.requiresGrad = true;
      backward(x);
      backward(x);
      expect(Array.from(await x.grad!.data())).toEqual([2, 2]);
    });
  });

  it("dy must have y's exact shape and be float32", async () => {
    const before = engine().memoryStats().tensors;
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
      x.requiresGrad = true;
      const y = mul(x, 2);
      expect(() => backward(y, fill([3, 2], 1, engine()))).toThrow(
        "backward: dy (3, 2) float32 must be float32 of the output's shape (2, 3)",
      );
      expect(() => backward(y, fill([6], 1, engine()))).toThrow(AutogradError);
      expect(() => backward(y, engine().fromArray([1, 1, 1, 1, 1, 1], [2, 3], 'int32'))).toThrow(
        /int32 must be float32/,
      );
      // Nothing was accumulated and the graph is still usable.
      expect(x.grad).toBeNull();
      backward(y, fill([2, 3], 1, engine()));
      expect(Array.from(await x.grad!.data())).toEqual([2, 2, 2, 2, 2, 2]);
    });
    expect(engine().memoryStats().tensors).toBe(before);
  });

  it('tidy given an async function throws a TypeError pointing to tidyAsync', () => {
    expect(() => engine().tidy(async () => fill([1], 0, engine()))).toThrow(TypeError);
    expect(() => engine().tidy(async () => fill([1], 0, engine()))).toThrow(/use `await engine.tidyAsync/i);
  });
});
