/** matmul beyond the registry's generic pass: literal values, error messages, transposes, the batch fold. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { matmul, matmulOp } from '../src/ops/matmul.js';
import { backward } from '../src/runtime/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { init } from '../src/runtime/global.js';
import { expectClose } from './helpers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await init('webgpu');
});
afterAll(() => engine?.destroy());

function randn(n: number, rng: Random): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

/** The last two dims of a row-major (batch, rows, cols) array swapped, on the CPU. */
function transposeCpu(x: number[], batch: number, rows: number, cols: number): number[] {
  const t = new Array<number>(x.length);
  for (let z = 0; z < batch; z++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) t[z * rows * cols + c * rows + r] = x[z * rows * cols + r * cols + c];
  return t;
}

describe('matmul', () => {
  it('computes a 2×3 · 3×2 product by hand', async () => {
    const a = engine.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = engine.fromArray([7, 8, 9, 10, 11, 12], [3, 2]);
    const y = matmul(a, b);
    expect(y.shape).toEqual([2, 2]);
    // [1·7 + 2·9 + 3·11, 1·8 + 2·10 + 3·12; 4·7 + 5·9 + 6·11, 4·8 + 5·10 + 6·12]
    expect(Array.from(await y.data())).toEqual([58, 64, 139, 154]);
    engine.tidy(() => [a, b, y].forEach((t) => t.dispose()));
  });

  it('names the op and both shapes on bad input', () => {
    engine.tidy(() => {
      const t = (shape: number[]) => engine.empty(shape);
      expect(() => matmul(t([2, 3]), t([4, 2]))).toThrow(
        'matmul: inner dimensions differ (K = 3 vs 4, transA false, transB false) (got (2, 3), (4, 2))',
      );
      expect(() => matmul(t([2, 3]), t([2, 4]), { transB: true })).toThrow(/K = 3 vs 4.*\(2, 3\), \(2, 4\)/);
      expect(() => matmul(t([2, 4, 3]), t([3, 3, 5]))).toThrow(
        'matmul: batch sizes 2 and 3 cannot be broadcast (got (2, 4, 3), (3, 3, 5))',
      );
      expect(() => matmul(t([3]), t([3, 2]))).toThrow(
        'matmul: operands must be 2-D or 3-D (got (3,), (3, 2))',
      );
      expect(() => matmul(t([1, 2, 2, 3]), t([3, 2]))).toThrow(/2-D or 3-D.*\(1, 2, 2, 3\), \(3, 2\)/);
    });
  });

  it('transposed operands equal the product of explicitly transposed copies', async () => {
    const rng = new Random(7);
    // Several 32×32 tiles with ragged edges, batched, on both sides.
    const [batch, m, k, n] = [2, 37, 45, 34];
    const av = randn(batch * m * k, rng);
    const bv = randn(batch * k * n, rng);
    await engine.tidyAsync(async () => {
      const expected = await matmul(
        engine.fromArray(av, [batch, m, k]),
        engine.fromArray(bv, [batch, k, n]),
      ).data();
      const aT = engine.fromArray(transposeCpu(av, batch, m, k), [batch, k, m]);
      const bT = engine.fromArray(transposeCpu(bv, batch, k, n), [batch, n, k]);
      const a = engine.fromArray(av, [batch, m, k]);
      const b = engine.fromArray(bv, [batch, k, n]);
      for (const [x, w, transA, transB] of [
        [aT, b, true, false],
        [a, bT, false, true],
        [aT, bT, true, true],
      ] as const) {
        const y = matmul(x, w, { transA, transB });
        expect(y.shape).toEqual([batch, m, n]);
        expectClose(await y.data(), expected, { what: `transA ${transA} transB ${transB}` });
      }
    });
  });

  it('folds a batched (B, M, K) · (K, N) into one product, with the gradient of the shared operand summed', async () => {
    const rng = new Random(11);
    const [batch, m, k, n] = [3, 5, 4, 6];
    const av = randn(batch * m * k, rng);
    const bv = randn(k * n, rng);
    const dyv = randn(batch * m * n, rng);
    const cpu = (x: number[], xs: number[], w: number[], ws: number[], transA: boolean, transB: boolean) =>
      matmulOp.cpu(
        [
          { shape: xs, data: Float64Array.from(Float32Array.from(x)) },
          { shape: ws, data: Float64Array.from(Float32Array.from(w)) },
        ],
        { transA, transB },
      )[0];
    await engine.tidyAsync(async () => {
      const a = engine.fromArray(av, [batch, m, k]);
      const b = engine.fromArray(bv, [k, n]);
      a.requiresGrad = true;
      b.requiresGrad = true;
      const y = matmul(a, b);
      expect(y.shape).toEqual([batch, m, n]);
      expectClose(await y.data(), cpu(av, [batch, m, k], bv, [k, n], false, false), { what: 'y' });
      backward(y, engine.fromArray(dyv, y.shape));
      expect(a.grad!.shape).toEqual([batch, m, k]);
      expect(b.grad!.shape).toEqual([k, n]);
      expectClose(await a.grad!.data(), cpu(dyv, [batch, m, n], bv, [k, n], false, true), { what: 'da' });
      // db = Σ_z a[z]ᵀ·dy[z] = (a as (B·M, K))ᵀ · (dy as (B·M, N)).
      expectClose(await b.grad!.data(), cpu(av, [batch * m, k], dyv, [batch * m, n], true, false), {
        what: 'db',
      });
    });
  });
});
