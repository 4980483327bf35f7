/**
 * Embedding lookup and its atomics-free scatter-add gradient on literal examples (repeated indices accumulate,
 * out-of-range indices throw), on WebGPU and the CPU reference; the Embedding and Dropout modules.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { embedding } from '../src/ops/embedding.js';
import { fill } from '../src/ops/elementwise.js';
import { Dropout } from '../src/nn/dropout.js';
import { Embedding } from '../src/nn/embedding.js';
import { backward } from '../src/ops/autograd.js';
import { OpError } from '../src/runtime/op.js';
import { BACKENDS, useEngine } from './engine_fixture.js';

// One WebGPU engine for the file: the blocks on both backends and the WebGPU-only ones share it.
const gpu = useEngine();

// V = 4 rows of E = 2: row v is (10v, 10v + 1).
const table = [0, 1, 10, 11, 20, 21, 30, 31];

describe.each(BACKENDS)('embedding on %s', (backend) => {
  const engine = backend === 'webgpu' ? gpu : useEngine('cpu');

  it('gathers rows; repeated indices accumulate their gradients', async () => {
    await engine().tidyAsync(async () => {
      const w = engine().fromArray(table, [4, 2]);
      w.requiresGrad = true;
      const idx = engine().fromArray([2, 0, 2, 2, 3, 0], [2, 3], 'int32');
      const y = embedding(w, idx);
      expect(y.shape).toEqual([2, 3, 2]);
      expect(Array.from(await y.data())).toEqual([20, 21, 0, 1, 20, 21, 20, 21, 30, 31, 0, 1]);
      backward(y, engine().fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]));
      // Row 0 ← positions 1, 5; row 1 ← none; row 2 ← positions 0, 2, 3; row 3 ← position 4.
      expect(Array.from(await w.grad!.data())).toEqual([3 + 11, 4 + 12, 0, 0, 1 + 5 + 7, 2 + 6 + 8, 9, 10]);
      expect(idx.grad).toBeNull();
    });
  });

  it('throws at the call for an out-of-range index, naming it and its position (PyTorch raises too)', () => {
    engine().tidy(() => {
      const w = engine().fromArray(table, [4, 2]);
      expect(() => embedding(w, engine().fromArray([0, 1, 2, 4], [2, 2], 'int32'))).toThrow(
        'embedding: index 4 at [1, 1] is outside [0, 4) (got (4, 2), (2, 2))',
      );
      expect(() => embedding(w, engine().fromArray([-1], [1], 'int32'))).toThrow(OpError);
    });
  });

  it('rejects float indices and a weight that is not (V, E)', () => {
    engine().tidy(() => {
      const w = engine().fromArray(table, [4, 2]);
      expect(() => embedding(w, engine().fromArray([1], [1]))).toThrow(OpError);
      expect(() => embedding(w, engine().fromArray([1], [1]))).toThrow(
        "embedding: indices must be int32, got float32 (upload them with dtype 'int32') (got (4, 2), (1,))",
      );
      expect(() => embedding(engine().fromArray(table, [8]), engine().fromArray([1], [1], 'int32'))).toThrow(
        'embedding: weight must be (V, E) float32',
      );
    });
  });
});

describe('Embedding and Dropout modules', () => {
  it('initialises the table N(0, 1) like torch.nn.Embedding and looks tokens up', async () => {
    const e = gpu();
    const emb = new Embedding(100, 50, { rng: new Random(3) });
    expect(emb.namedTensors().map(([n, t]) => [n, t.shape])).toEqual([['weight', [100, 50]]]);
    const w = Array.from(await emb.weight.data());
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.05);
    await e.tidyAsync(async () => {
      const y = emb.forward(e.fromArray([7, 0, 99], [1, 3], 'int32'));
      expect(y.shape).toEqual([1, 3, 50]);
      const out = Array.from(await y.data());
      expect(out.slice(0, 50)).toEqual(w.slice(350, 400));
      expect(out.slice(100)).toEqual(w.slice(4950));
      expect(() => emb.forward(e.fromArray([1], [1]))).toThrow('Embedding: indices must be int32 token ids');
    });
    expect(() => new Embedding(0, 3)).toThrow('Embedding: numEmbeddings must be an integer >= 1, got 0');
    emb.dispose();
  });

  it('Dropout drops only in training mode', async () => {
    const e = gpu();
    await e.tidyAsync(async () => {
      const d = new Dropout(0.5);
      const x = fill([1000], 1, e);
      const y = Array.from(await d.forward(x).data());
      const dropped = y.filter((v) => v === 0).length;
      expect(dropped).toBeGreaterThan(400);
      expect(dropped).toBeLessThan(600);
      expect(y.every((v) => v === 0 || v === 2)).toBe(true);
      d.eval();
      expect(d.forward(x)).toBe(x);
      expect(() => new Dropout(1)).toThrow('Dropout: p must be in [0, 1), got 1');
    });
  });
});
