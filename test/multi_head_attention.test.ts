/**
 * d2l §11.5 MultiHeadAttention: PyTorch parity (test/fixtures/attention.json: outputs, weights and gradients of
 * d2l's module), d2l's printed shape examples, gradients against finite differences on the CPU engine and WebGPU
 * autograd against the CPU engine's (with dropout), on the fused and the unfused attention path.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { fill } from '../src/ops/elementwise.js';
import { manualSeed } from '../src/runtime/random.js';
import { MultiHeadAttention, type MultiHeadAttentionOptions } from '../src/nn/multi_head_attention.js';
import { backward } from '../src/ops/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';
import { OpError } from '../src/runtime/op.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

interface Fixture {
  config: Omit<MultiHeadAttentionOptions, 'rng' | 'fused' | 'captureWeights'>;
  inputs: Record<'queries' | 'keys' | 'values', { shape: number[]; data: number[] }>;
  valid_lens: { shape: number[]; data: number[] } | null;
  state_dict: Record<string, number[]>;
  output: { shape: number[]; data: number[] };
  attention_weights: { shape: number[]; data: number[] };
  dy: number[];
  grads: Record<string, number[]>;
}

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/attention.json', import.meta.url), 'utf8'),
) as Record<string, Fixture>;

const gpu = useEngine();
const cpu = useEngine('cpu', { current: false });

const INPUTS = ['queries', 'keys', 'values'] as const;

describe.each([true, false])('PyTorch parity, fused = %s', (fused) => {
  it.each(['multi_head_attention', 'multi_head_attention_bias'])('%s', async (name) => {
    const f = fixtures[name];
    const mha = new MultiHeadAttention({ ...f.config, fused, captureWeights: true });
    expect(mha.namedTensors().map(([n]) => n)).toEqual(Object.keys(f.state_dict));
    mha.loadStateDict(f.state_dict);
    mha.eval();
    await gpu().tidyAsync(async () => {
      const x = INPUTS.map((k) => gpu().fromArray(f.inputs[k].data, f.inputs[k].shape));
      x.forEach((t) => (t.requiresGrad = true));
      // Lengths as an int32 tensor (repeated per head by the kernel) or as an array (repeated on the host).
      const lens =
        f.valid_lens &&
        (fused ? gpu().fromArray(f.valid_lens.data, f.valid_lens.shape, 'int32') : f.valid_lens.data);
      const y = mha.forward(x[0], x[1], x[2], lens);
      expect(y.shape).toEqual(f.output.shape);
      expectClose(await y.data(), f.output.data, { atol: 1e-5, what: 'output' });
      expect(mha.attentionWeights!.shape).toEqual(f.attention_weights.shape);
      expectClose(await mha.attentionWeights!.data(), f.attention_weights.data, {
        atol: 1e-5,
        what: 'weights',
      });
      backward(y, gpu().fromArray(f.dy, y.shape));
      for (const [i, k] of INPUTS.entries())
        expectClose(await x[i].grad!.data(), f.grads[k], { atol: 1e-5, what: `d${k}` });
      for (const [n, t] of mha.namedTensors())
        expectClose(await t.grad!.data(), f.grads[n], { atol: 1e-5, what: `d${n}` });
    });
    mha.dispose();
  });
});

describe("d2l's printed examples (§11.5)", () => {
  it('self- and cross-attention keep (B, L, numHiddens)', async () => {
    const mha = new MultiHeadAttention({
      keySize: 100,
      querySize: 100,
      valueSize: 100,
      numHiddens: 100,
      numHeads: 5,
      dropout: 0.5,
    }).eval();
    await gpu().tidyAsync(async () => {
      const x = fill([2, 4, 100], 1);
      const y = fill([2, 6, 100], 1);
      const self = mha.forward(x, x, x, [3, 2]);
      expect(self.shape).toEqual([2, 4, 100]);
      const cross = mha.forward(x, y, y, gpu().fromArray([3, 2], [2], 'int32'));
      expect(cross.shape).toEqual([2, 4, 100]);
      // Equal keys give uniform weights over the valid ones, so every query row of a batch item is the same.
      const out = Array.from(await cross.data());
      expectClose(out.slice(100, 200), out.slice(0, 100), { atol: 1e-5, what: 'rows' });
      expect(out.every(Number.isFinite)).toBe(true);
    });
    mha.dispose();
  });
});

// The tiny configuration of the gradient checks: B = 2, L = 3, S = 4, numHiddens = 6, H = 2.
const TINY = { keySize: 5, querySize: 4, valueSize: 3, numHiddens: 6, numHeads: 2 };
const SHAPES = { queries: [2, 3, 4], keys: [2, 4, 5], values: [2, 4, 3] };

/** The same MHA on `engine`: parameters and inputs drawn from seed 7 (the module's own init is overwritten). */
function build(engine: Engine, options: Partial<MultiHeadAttentionOptions> = {}) {
  setEngine(engine);
  const mha = new MultiHeadAttention({ ...TINY, dropout: 0, bias: true, ...options });
  const rng = new Random(7);
  mha.loadStateDict(
    Object.fromEntries(mha.namedTensors().map(([n, t]) => [n, rng.normalArray(t.numel(), 0, 0.7)])),
  );
  const x = INPUTS.map((k) => {
    const shape = SHAPES[k];
    const t = engine.fromArray(rng.normalArray(shape[0] * shape[1] * shape[2]), shape).keep();
    t.requiresGrad = true;
    return t;
  });
  const dy = engine.fromArray(rng.normalArray(2 * 3 * 6), [2, 3, 6]).keep();
  return { mha, x, dy };
}

/** Gradients of Σ y·dy for every input and parameter, in the order inputs, then namedTensors. */
async function gradients(
  engine: Engine,
  { mha, x, dy }: ReturnType<typeof build>,
  validLens: number[] | number[][],
  seed: number,
): Promise<Float32Array[]> {
  const tensors: Tensor[] = [...x, ...mha.namedTensors().map(([, t]) => t)];
  tensors.forEach((t) => {
    t.grad?.dispose();
    t.grad = null;
  });
  return engine.tidyAsync(async () => {
    manualSeed(seed);
    backward(mha.forward(x[0], x[1], x[2], validLens), dy);
    return Promise.all(tensors.map(async (t) => Float32Array.from(await t.grad!.data())));
  });
}

function release({ mha, x, dy }: ReturnType<typeof build>): void {
  mha.dispose();
  [...x, dy].forEach((t) => t.dispose());
}

describe.each([true, false])('gradients, fused = %s', (fused) => {
  it('match central finite differences of the forward pass on the CPU engine', async () => {
    const model = build(cpu(), { fused });
    model.mha.eval();
    const lens = [2, 4];
    const analytic = await gradients(cpu(), model, lens, 0);
    const dy = model.dy.array;
    const objective = () =>
      cpu().noGrad(() =>
        cpu().tidy(() => {
          const y = model.mha.forward(model.x[0], model.x[1], model.x[2], lens).array;
          let s = 0;
          for (let i = 0; i < y.length; i++) s += y[i] * dy[i];
          return s;
        }),
      );
    const tensors = [...model.x, ...model.mha.namedTensors().map(([, t]) => t)];
    tensors.forEach((t, n) => {
      const a = t.array;
      const fd = Array.from(a, (orig, i) => {
        const h = 1e-2;
        a[i] = orig + h;
        const up = [a[i], objective()];
        a[i] = orig - h;
        const down = [a[i], objective()];
        a[i] = orig;
        return (up[1] - down[1]) / (up[0] - down[0]);
      });
      expectClose(analytic[n], fd, { atol: 2e-3, rtol: 5e-3, what: `gradient ${n}` });
    });
    release(model);
  });

  it('on WebGPU match the CPU engine, with dropout in training and per-query valid lengths', async () => {
    const lens = [
      [1, 4, 0],
      [3, 2, 9],
    ];
    const results: Float32Array[][] = [];
    for (const e of [gpu(), cpu()]) {
      const model = build(e, { fused, dropout: 0.3 });
      results.push(await gradients(e, model, lens, 11));
      release(model);
    }
    results[0].forEach((g, n) => expectClose(g, results[1][n], { atol: 1e-5, what: `gradient ${n}` }));
  });

  it('give masked keys and values exactly zero gradient', async () => {
    const model = build(gpu(), { fused });
    const [, dk, dv] = await gradients(gpu(), model, [2, 3], 0);
    // Item 0 sees keys 0–1, item 1 keys 0–2; S = 4.
    const masked = (g: Float32Array, width: number) =>
      [
        [0, 2],
        [0, 3],
        [1, 3],
      ].flatMap(([b, j]) => Array.from(g.subarray((b * 4 + j) * width, (b * 4 + j + 1) * width)));
    expect(masked(dk, 5).every((v) => v === 0)).toBe(true);
    expect(masked(dv, 3).every((v) => v === 0)).toBe(true);
    expect(dk.subarray(0, 10).some((v) => v !== 0)).toBe(true);
    release(model);
  });
});

describe.each([true, false])('causal self-attention, fused = %s', (fused) => {
  it('equals per-query lengths 1 … L, and over a cache the last rows of the whole causal forward', async () => {
    // B = 2, S = 5 positions of width 4; a causal and a plain MHA with the same parameters.
    const config = { keySize: 4, querySize: 4, valueSize: 4, numHiddens: 6, numHeads: 2, dropout: 0, fused };
    const causal = new MultiHeadAttention({ ...config, causal: true });
    const plain = new MultiHeadAttention(config);
    const weights = await Promise.all(
      causal.namedTensors().map(async ([n, t]) => [n, await t.data()] as const),
    );
    plain.loadStateDict(Object.fromEntries(weights));
    const rng = new Random(11);
    const x = rng.normalArray(2 * 5 * 4);
    /** Rows from … 4 of both batch items, (2, 5 − from, 4). */
    const rows = (from: number) =>
      gpu().fromArray(
        [0, 1].flatMap((b) => Array.from(x.subarray((b * 5 + from) * 4, (b + 1) * 5 * 4))),
        [2, 5 - from, 4],
      );
    await gpu().tidyAsync(async () => {
      const all = rows(0);
      const full = Array.from(await causal.forward(all, all, all).data());
      const lens = [0, 1].map(() => [1, 2, 3, 4, 5]);
      expectClose(await plain.forward(all, all, all, lens).data(), full, { atol: 1e-6, what: 'L = S' });
      const tail = (from: number) => [0, 1].flatMap((b) => full.slice((b * 5 + from) * 6, (b + 1) * 5 * 6));
      for (const from of [3, 4])
        expectClose(await causal.forward(rows(from), all, all).data(), tail(from), {
          atol: 1e-6,
          what: `L = ${5 - from} over S = 5`,
        });
      expect(() => causal.forward(all, rows(3), rows(3))).toThrow('causal attention takes L ≤ S queries');
      expect(() => causal.forward(rows(3), all, all, [5, 5])).toThrow('no validLens');
    });
    causal.dispose();
    plain.dispose();
  });
});

describe('attention weights and errors', () => {
  it('captures (B·H, L, S) weights only when asked, replacing them on every forward', async () => {
    const model = build(gpu(), { captureWeights: true });
    const { mha, x } = model;
    await gpu().tidyAsync(async () => {
      mha.forward(x[0], x[1], x[2], [2, 3]);
    });
    const w = mha.attentionWeights!;
    expect(w.shape).toEqual([4, 3, 4]);
    const values = await w.data();
    for (let r = 0; r < 12; r++) {
      const row = Array.from(values.subarray(r * 4, r * 4 + 4));
      // Rows 0–5 belong to item 0 (valid length 2), rows 6–11 to item 1 (valid length 3).
      const len = r < 6 ? 2 : 3;
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.slice(len).every((v) => v === 0)).toBe(true);
    }
    const live = gpu().memoryStats().tensors;
    gpu().tidy(() => {
      mha.forward(x[0], x[1], x[2]);
    });
    expect(w.disposed).toBe(true);
    expect(gpu().memoryStats().tensors).toBe(live);
    mha.captureWeights = false;
    gpu().tidy(() => {
      mha.forward(x[0], x[1], x[2]);
    });
    expect(mha.attentionWeights).toBeNull();
    release(model);
  });

  it('throws on bad configurations and shapes', () => {
    expect(() => new MultiHeadAttention({ ...TINY, numHeads: 4, dropout: 0 })).toThrow(
      'MultiHeadAttention: numHeads must be a positive integer dividing numHiddens = 6, got 4',
    );
    const model = build(gpu());
    const { mha, x } = model;
    gpu().tidy(() => {
      expect(() => mha.forward(x[0], x[1], x[1])).toThrow(OpError);
      expect(() => mha.forward(x[0], x[0], x[2])).toThrow(
        'MultiHeadAttention: keys and values must have one length S (got (2, 3, 4), (2, 3, 4), (2, 4, 3))',
      );
    });
    release(model);
  });
});
