/**
 * The habits PyTorch users bring, beyond what the registry checks (values against float64 references and
 * gradients against finite differences on awkward shapes): how tensors print (metadata with `console.log`, values
 * with `format()` / `print()` in PyTorch's layout), `numel()` and `size()`, argmax's tie and NaN rules, softmax's
 * stability on large scores, permute/transpose gradients, and shape errors that name the op and the shape.
 */
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { argmax } from '../src/ops/argmax.js';
import { mul } from '../src/ops/elementwise.js';
import { permute, transpose } from '../src/ops/permute.js';
import { sum } from '../src/ops/reduce.js';
import { logSoftmax, softmax } from '../src/ops/softmax.js';
import { backward } from '../src/ops/autograd.js';
import { OpError } from '../src/runtime/errors.js';
import { BACKENDS, useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const arange = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Expects `fn` to throw an OpError naming `op` and the shape `shape` (as formatShape writes it). */
function throwsOpError(fn: () => unknown, op: string, shape: string): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(OpError);
  expect((thrown as OpError).op).toBe(op);
  expect((thrown as OpError).message).toContain(`${op}: `);
  expect((thrown as OpError).message).toContain(shape);
}

describe.each(BACKENDS)('on %s', (backend) => {
  const engine = useEngine(backend);
  const meta = (shape: string, dtype = 'float32') => `shape=${shape}, dtype=${dtype}, device=${backend}`;

  describe('printing', () => {
    it('console.log and String show shape, dtype and device, not the engine', () => {
      engine().tidy(() => {
        const x = engine().fromArray(arange(6), [2, 3]);
        expect(String(x)).toBe(`Tensor(${meta('(2, 3)')})`);
        expect(inspect(x)).toBe(`Tensor(${meta('(2, 3)')})`);
        expect(inspect({ x })).toBe(`{ x: Tensor(${meta('(2, 3)')}) }`);
        x.requiresGrad = true;
        expect(`${x}`).toBe(`Tensor(${meta('(2, 3)')}, requiresGrad=true)`);
        const labels = engine().fromArray([1, 2], [2], 'int32');
        expect(inspect(labels)).toBe(`Tensor(${meta('(2,)', 'int32')})`);
        labels.dispose();
        expect(String(labels)).toBe(`Tensor(${meta('(2,)', 'int32')}, disposed)`);
        expect(x.device).toBe(backend);
      });
    });

    it('format() reads the values back and lays them out as torch prints them', async () => {
      await engine().tidyAsync(async () => {
        // torch.tensor([[0.1, -1.2, 3.0], [4.5, 100.0, 2.0]])
        expect(await engine().fromArray([0.1, -1.2, 3, 4.5, 100, 2], [2, 3]).format()).toBe(
          'tensor([[  0.1000,  -1.2000,   3.0000],\n' +
            `        [  4.5000, 100.0000,   2.0000]], ${meta('(2, 3)').replace(', device', ',\n       device')})`,
        );
        // Whole numbers print as `1.`; magnitudes spanning more than 1000× switch to scientific notation.
        expect(await engine().fromArray([1, 2, 3], [3]).format()).toBe(
          `tensor([1., 2., 3.], ${meta('(3,)')})`,
        );
        expect(await engine().fromArray([1e-5, 2], [2]).format()).toBe(
          `tensor([1.0000e-05, 2.0000e+00], ${meta('(2,)')})`,
        );
        expect(await engine().fromArray([NaN, -Infinity, 0.5], [3]).format()).toBe(
          `tensor([   nan,   -inf, 0.5000], ${meta('(3,)')})`,
        );
        expect(await engine().fromArray([1, -20, 300], [3], 'int32').format()).toBe(
          `tensor([  1, -20, 300], ${meta('(3,)', 'int32')})`,
        );
        expect(await engine().fromArray([3.5], []).format()).toBe(`tensor(3.5000, ${meta('()')})`);
        expect(await engine().fromArray([], [0, 3]).format()).toBe(`tensor([], ${meta('(0, 3)')})`);
      });
    });

    it('format() summarises tensors over 1000 elements to 3 entries at each edge, and print() logs it', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray(
          arange(1200).map((i) => (i % 10) + 1),
          [2, 600],
        );
        const text = await x.format();
        expect(text.split('\n').slice(0, 2)).toEqual([
          'tensor([[ 1.,  2.,  3.,  ...,  8.,  9., 10.],',
          '        [ 1.,  2.,  3.,  ...,  8.,  9., 10.]], shape=(2, 600), dtype=float32,',
        ]);
        // A long row wraps at 80 columns, as torch's linewidth.
        const row = await engine()
          .fromArray(
            arange(30).map((i) => i / 8),
            [30],
          )
          .format();
        expect(row.split('\n').every((line) => line.length <= 80)).toBe(true);
        expect(row.split('\n')[1].startsWith('        1.1250, 1.2500,')).toBe(true);
        const log = vi.spyOn(console, 'log').mockImplementation(() => {});
        try {
          await x.print();
          expect(log).toHaveBeenCalledWith(text);
        } finally {
          log.mockRestore();
        }
      });
    });
  });

  it('numel() counts elements; size() is the shape, size(dim) one length, as in PyTorch', () => {
    engine().tidy(() => {
      const x = engine().fromArray(arange(24), [2, 3, 4]);
      expect(x.numel()).toBe(24);
      expect(x.size()).toEqual([2, 3, 4]);
      expect(x.size(1)).toBe(3);
      expect(x.size(-1)).toBe(4);
      expect(() => x.size(3)).toThrow(RangeError);
      expect(() => x.size(-4)).toThrow(/out of range for shape \(2, 3, 4\)/);
      expect(engine().fromArray([7], []).numel()).toBe(1);
      expect(engine().fromArray([], [3, 0]).numel()).toBe(0);
    });
  });

  describe('argmax', () => {
    it('ties take the first index and NaN wins, as torch.argmax', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray([1, 3, 3, 0, 2, 2, 2, 2, -1, NaN, 5, NaN], [3, 4]);
        const k = argmax(x, 1);
        expect(k.dtype).toBe('int32');
        expect(k.shape).toEqual([3]);
        expect(Array.from(await k.data())).toEqual([1, 0, 1]);
        // A tie spread over more than one workgroup's stride (64): the smallest index still wins.
        const wide = engine().fromArray(
          arange(300).map((i) => (i === 70 || i === 5 || i === 200 ? 9 : 0)),
          [300],
        );
        expect(await argmax(wide, 0).item()).toBe(5);
      });
    });

    it('without an axis indexes the flattened tensor; keepdim keeps the axis as 1', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray([0, 7, 1, 7, 4, 2], [2, 3]);
        const flat = argmax(x);
        expect(flat.shape).toEqual([]);
        expect(await flat.item()).toBe(1);
        expect(argmax(x, undefined, true).shape).toEqual([1, 1]);
        const k = argmax(x, 0, true);
        expect(k.shape).toEqual([1, 3]);
        expect(Array.from(await k.data())).toEqual([1, 0, 1]);
      });
    });

    it('records no gradient (an integer output)', () => {
      engine().tidy(() => {
        const x = engine().fromArray([1, 2, 3], [3]);
        x.requiresGrad = true;
        const k = argmax(x, 0);
        expect(k.requiresGrad).toBe(false);
        expect(k.creator).toBeNull();
      });
    });
  });

  describe('softmax and logSoftmax', () => {
    it('subtract the maximum: large scores stay finite and logSoftmax stays exact where softmax underflows', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray([1000, 1001, 0, -200], [2, 2]);
        expectClose(await softmax(x).data(), [0.2689414213699951, 0.7310585786300049, 1, 0]);
        expectClose(await logSoftmax(x).data(), [-1.3132616875182228, -0.3132616875182228, 0, -200]);
      });
    });

    it('along a middle axis equals the last-axis softmax of the transposed tensor', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray(
          arange(60).map((i) => Math.sin(i) * 3),
          [3, 4, 5],
        );
        const viaTranspose = transpose(softmax(transpose(x, 1, 2), -1), 1, 2);
        expectClose(await softmax(x, 1).data(), await viaTranspose.data(), { atol: 1e-6 });
        const sums = await sum(softmax(x, 1), 1).data();
        expectClose(sums, new Array(15).fill(1), { atol: 1e-6 });
      });
    });
  });

  describe('permute and transpose', () => {
    it('move axes like torch.permute / torch.transpose', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray(arange(6), [2, 3]);
        expect(await transpose(x, 0, 1).toArray()).toEqual([
          [0, 3],
          [1, 4],
          [2, 5],
        ]);
        const y = permute(engine().fromArray(arange(24), [2, 3, 4]), [2, 0, 1]);
        expect(y.shape).toEqual([4, 2, 3]);
        // y[d, a, b] = x[a, b, d] = 12a + 4b + d
        expect((await y.data())[3 * 6 + 1 * 3 + 2]).toBe(12 + 8 + 3);
        const ids = permute(engine().fromArray([5, 6, 7, 8], [2, 2], 'int32'), [-1, -2]);
        expect(ids.dtype).toBe('int32');
        expect(Array.from(await ids.data())).toEqual([5, 7, 6, 8]);
      });
    });

    it('send the gradient back through the inverse permutation', async () => {
      await engine().tidyAsync(async () => {
        const x = engine().fromArray(arange(24), [2, 3, 4]);
        x.requiresGrad = true;
        const w = engine().fromArray(
          arange(24).map((i) => i * 0.5 - 3),
          [4, 2, 3],
        );
        // d/dx Σ permute(x)·w = w permuted back: dx[a, b, d] = w[d, a, b].
        backward(sum(mul(permute(x, [2, 0, 1]), w)));
        expect(Array.from(await x.grad!.data())).toEqual(Array.from(await permute(w, [1, 2, 0]).data()));
      });
    });
  });

  it('shape errors are OpErrors naming the op and the shape', () => {
    engine().tidy(() => {
      const x = engine().fromArray(arange(6), [2, 3]);
      throwsOpError(() => permute(x, [0]), 'permute', '(2, 3)');
      throwsOpError(() => permute(x, [1, 1]), 'permute', '(2, 3)');
      throwsOpError(() => transpose(x, 0, 2), 'transpose', '(2, 3)');
      throwsOpError(() => softmax(x, 2), 'softmax', '(2, 3)');
      throwsOpError(() => logSoftmax(x, -3), 'log_softmax', '(2, 3)');
      throwsOpError(() => softmax(engine().fromArray([1, 2], [2], 'int32')), 'softmax', '(2,)');
      throwsOpError(() => argmax(x, 5), 'argmax', '(2, 3)');
      throwsOpError(() => argmax(engine().fromArray([], [2, 0]), 1), 'argmax', '(2, 0)');
      throwsOpError(() => argmax(engine().fromArray([], [0])), 'argmax', '(0,)');
      // Nine axes that all move apart: past the kernel's eight.
      const nine = engine().fromArray(arange(512), [2, 2, 2, 2, 2, 2, 2, 2, 2]);
      throwsOpError(
        () => permute(nine, [8, 7, 6, 5, 4, 3, 2, 1, 0]),
        'permute',
        '(2, 2, 2, 2, 2, 2, 2, 2, 2)',
      );
    });
  });
});
