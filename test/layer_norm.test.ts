/**
 * LayerNorm against hand-computed numbers on WebGPU and on the CPU reference (biased variance over the last dim,
 * D = 1 gives the bias), and d2l §11.7's checks of PositionWiseFFN and AddNorm. Awkward shapes and the gradient
 * check vs finite differences are in the generic registry test.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { add, fill, mul } from '../src/ops/elementwise.js';
import { layerNorm } from '../src/ops/layer_norm.js';
import { sum } from '../src/ops/reduce.js';
import { LayerNorm } from '../src/nn/layer_norm.js';
import { AddNorm, PositionWiseFFN } from '../src/nn/transformer_blocks.js';
import { backward } from '../src/ops/autograd.js';
import { OpError } from '../src/runtime/op.js';
import { BACKENDS, useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

// One WebGPU engine for the file: the blocks on both backends and the WebGPU-only ones share it.
const gpu = useEngine();

// Row (1, 2, 3): mean 2, biased variance 2/3, so x̂ = (−1, 0, 1)/√(2/3) = (−R, 0, R) and rstd = R.
const R = Math.sqrt(1.5);

describe.each(BACKENDS)('layerNorm on %s', (backend) => {
  const engine = backend === 'webgpu' ? gpu : useEngine('cpu');

  it('normalises each row with its mean and biased variance, then scales and shifts per feature', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([1, 2, 3, 2, 2, 2], [2, 3]);
      const ln = new LayerNorm(3);
      ln.loadStateDict({ weight: [1, 2, 3], bias: [0, 1, 0] });
      const r = 1 / Math.sqrt(2 / 3 + 1e-5);
      // A constant row has variance 0: x̂ = 0 and y = bias.
      expectClose(await ln.forward(x).data(), [-r, 1, 3 * r, 0, 1, 0], { atol: 1e-6, what: 'y' });
      ln.dispose();
    });
  });

  it('eps enters under the square root; D = 1 gives the bias (variance 0)', async () => {
    await engine().tidyAsync(async () => {
      const w = engine().fromArray([1, 1], [2]);
      const b = engine().fromArray([0, 0], [2]);
      // (0, 2): mean 1, biased variance 1, so (x − 1)/√(1 + 3) = ∓0.5.
      expectClose(await layerNorm(engine().fromArray([0, 2], [1, 2]), w, b, 3).data(), [-0.5, 0.5], {
        atol: 1e-6,
        what: 'y',
      });
      const x1 = engine().fromArray([5, -3, 0.25], [3, 1]);
      x1.requiresGrad = true;
      const y1 = layerNorm(x1, engine().fromArray([2], [1]), engine().fromArray([0.5], [1]));
      expect(Array.from(await y1.data())).toEqual([0.5, 0.5, 0.5]);
      backward(sum(mul(y1, engine().fromArray([1, 2, 3], [3, 1]))));
      expect(Array.from(await x1.grad!.data())).toEqual([0, 0, 0]);
    });
  });

  it('backward: dbias = Σ dy, dweight = Σ dy·x̂, dx = rstd/D·(D·g − Σg − x̂·Σg·x̂) with g = dy·weight', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray([1, 2, 3], [1, 3]);
      const w = engine().fromArray([1, 2, 3], [3]);
      const b = engine().fromArray([0, 1, 0], [3]);
      for (const t of [x, w, b]) t.requiresGrad = true;
      backward(sum(mul(layerNorm(x, w, b, 0), engine().fromArray([1, 0, 2], [1, 3]))));
      expectClose(await b.grad!.data(), [1, 0, 2], { atol: 1e-6, what: 'dbias' });
      expectClose(await w.grad!.data(), [-R, 0, 2 * R], { atol: 1e-5, what: 'dweight' });
      // g = (1, 0, 6): Σg = 7, Σg·x̂ = 5R; dx = R/3·(3g − 7 − 5R·x̂) = R/3·(3.5, −7, 3.5).
      expectClose(
        await x.grad!.data(),
        [3.5, -7, 3.5].map((v) => (R / 3) * v),
        { atol: 1e-5, what: 'dx' },
      );
    });
  });

  it('sums dweight and dbias over every row of a (B, L, D) input', async () => {
    await engine().tidyAsync(async () => {
      const x = engine().fromArray(new Random(1).normalArray(2 * 3 * 4), [2, 3, 4]);
      const ln = new LayerNorm(4);
      backward(sum(ln.forward(x)));
      // y = x̂·w + b: Σ over rows of dy = 1 is 6 per feature; Σ_rows x̂ need not vanish per feature, but
      // Σ_features dweight = Σ_rows Σ_d x̂ = 0.
      expectClose(await ln.bias.grad!.data(), [6, 6, 6, 6], { atol: 1e-5, what: 'dbias' });
      const dw = await ln.weight.grad!.data();
      expect(Math.abs(Array.from(dw).reduce((a, v) => a + v, 0))).toBeLessThan(1e-4);
      ln.dispose();
    });
  });

  it('throws OpError naming the op and the shapes', () => {
    engine().tidy(() => {
      const x = engine().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
      expect(() => layerNorm(x, engine().fromArray([1, 1], [2]), engine().fromArray([0, 0], [2]))).toThrow(
        'layer_norm: expects x (…, D), weight (D), bias (D) (got (2, 3), (2,), (2,))',
      );
      const ln = new LayerNorm(2);
      expect(() => ln.forward(x)).toThrow(OpError);
      ln.dispose();
    });
  });
});

describe('Transformer blocks (d2l §11.7)', () => {
  it('PositionWiseFFN(4, 4, 8) maps ones (2, 3, 4) to (2, 3, 8), the same MLP at every position', async () => {
    const e = gpu();
    const ffn = new PositionWiseFFN(4, 4, 8, { rng: new Random(0) });
    expect(ffn.namedTensors().map(([n, t]) => [n, [...t.shape]])).toEqual([
      ['dense1.weight', [4, 4]],
      ['dense1.bias', [4]],
      ['dense2.weight', [8, 4]],
      ['dense2.bias', [8]],
    ]);
    ffn.eval();
    await e.tidyAsync(async () => {
      const y = ffn.forward(fill([2, 3, 4], 1));
      expect(y.shape).toEqual([2, 3, 8]);
      // d2l prints ffn(torch.ones((2, 3, 4)))[0], a (3, 8) block: dense2(relu(dense1(1))) in every row.
      const [w1, b1, w2, b2] = await Promise.all(ffn.parameters().map((t) => t.data()));
      const hidden = Array.from({ length: 4 }, (_, j) =>
        Math.max(0, b1[j] + [0, 1, 2, 3].reduce((s, k) => s + w1[j * 4 + k], 0)),
      );
      const row = Array.from(
        { length: 8 },
        (_, o) => b2[o] + hidden.reduce((s, h, j) => s + h * w2[o * 4 + j], 0),
      );
      expectClose(await y.data(), Array.from({ length: 6 }, () => row).flat(), {
        atol: 1e-5,
        what: 'ffn rows',
      });
    });
    ffn.dispose();
  });

  it('AddNorm(4, 0.5) keeps the shape (2, 3, 4); in eval it is ln(Y + X)', async () => {
    const e = gpu();
    const addNorm = new AddNorm(4, 0.5);
    expect(addNorm.namedTensors().map(([n]) => n)).toEqual(['ln.weight', 'ln.bias']);
    await e.tidyAsync(async () => {
      const ones = fill([2, 3, 4], 1);
      const trained = addNorm.forward(ones, ones);
      expect(trained.shape).toEqual([2, 3, 4]);
      // Training: dropout(Y) ∈ {0, 2} per element, then every row is normalised to mean 0.
      const t = await trained.data();
      for (let r = 0; r < 6; r++)
        expect(Math.abs(t[r * 4] + t[r * 4 + 1] + t[r * 4 + 2] + t[r * 4 + 3])).toBeLessThan(1e-5);
      addNorm.eval();
      const x = e.fromArray(new Random(2).normalArray(24), [2, 3, 4]);
      const y = e.fromArray(new Random(3).normalArray(24), [2, 3, 4]);
      const ln = new LayerNorm(4);
      expectClose(await addNorm.forward(x, y).data(), await ln.forward(add(y, x)).data(), {
        atol: 1e-6,
        what: 'eval',
      });
      ln.dispose();
      expect(() => addNorm.forward(x, fill([2, 3, 1], 0))).toThrow('AddNorm: X and Y must have one shape');
    });
    addNorm.dispose();
  });
});
