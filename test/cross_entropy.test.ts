/** crossEntropy against losses computed by hand in float64, its three reductions, gradients and errors. */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import {
  crossEntropy,
  crossEntropyBackward,
  crossEntropyOp,
  type Reduction,
} from '../src/ops/cross_entropy.js';
import { backward } from '../src/ops/autograd.js';
import { runReference } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { expectClose, f32 } from './helpers.js';

const engine = useEngine();

const logits = [
  [1, 2, 3],
  [1, 1, 1],
  [0, 10, -10],
  [-1, 0.5, 2],
];
const labels = [2, 0, 1, 0];
/** log Σ exp(x) − x[label] of each row, computed in float64 (Python `math`). */
const losses = [0.40760596444438013, 1.0986122886681096, 4.5400960276609226e-5, 3.241311296657157];

/** Loss (with the given reduction) and d loss / d logits. */
async function run(x: number[][], t: number[], reduction: Reduction, dloss?: number[]) {
  return engine().tidyAsync(async () => {
    const xt = engine().fromArray(x.flat(), [x.length, x[0].length]);
    xt.requiresGrad = true;
    const loss = crossEntropy(xt, engine().fromArray(t, [t.length], 'int32'), reduction);
    backward(loss, dloss && engine().fromArray(dloss, loss.shape));
    return { shape: loss.shape, loss: Array.from(await loss.data()), dx: Array.from(await xt.grad!.data()) };
  });
}

describe('crossEntropy', () => {
  it('logits [[1, 2, 3]], label 2 → log(e + e² + e³) − 3', async () => {
    const { shape, loss } = await run([[1, 2, 3]], [2], 'mean');
    expect(shape).toEqual([]);
    expect(loss[0]).toBeCloseTo(0.40760596, 6);
  });

  it("reduction 'none' gives the per-sample losses, 'sum' and 'mean' scalars", async () => {
    const none = await run(logits, labels, 'none', [1, 1, 1, 1]);
    expect(none.shape).toEqual([4]);
    expectClose(none.loss, losses, { atol: 1e-6, rtol: 1e-6 });
    const total = losses.reduce((a, b) => a + b, 0);
    const sum = await run(logits, labels, 'sum');
    expect(sum.shape).toEqual([]);
    expect(sum.loss[0]).toBeCloseTo(total, 5);
    const mean = await run(logits, labels, 'mean');
    expect(mean.shape).toEqual([]);
    expect(mean.loss[0]).toBeCloseTo(total / 4, 5);
  });

  it('the gradient is softmax − onehot, and that of mean is 1/N of that of sum', async () => {
    const sum = await run(logits, labels, 'sum');
    const mean = await run(logits, labels, 'mean');
    const expected = logits.flatMap((row, i) => {
      const z = row.reduce((a, v) => a + Math.exp(v), 0);
      return row.map((v, c) => Math.exp(v) / z - (c === labels[i] ? 1 : 0));
    });
    expectClose(sum.dx, expected, { atol: 1e-6 });
    expectClose(
      mean.dx,
      sum.dx.map((g) => g / 4),
      { atol: 1e-7, rtol: 1e-6 },
    );
  });

  it('huge logits do not overflow (logsumexp is shifted by the row maximum)', async () => {
    const { loss, dx } = await run([[1000, 0, -1000]], [1], 'none');
    expect(loss[0]).toBeCloseTo(1000, 3);
    expectClose(dx, [1, -1, 0], { atol: 1e-6 });
  });

  it('out-of-range labels throw at the call, naming the label and its row (PyTorch raises too)', async () => {
    await expect(run(logits.slice(0, 2), [1, 7], 'none')).rejects.toThrow(
      'cross_entropy: label 7 at [1] is outside [0, 3) and is not ignoreIndex (-100)',
    );
  });

  it('more samples than one grid dimension holds (2-D dispatch), forward and backward', async () => {
    const n = 70_000;
    const c = 2;
    const rng = new Random(11);
    const xv = Array.from(f32(Array.from({ length: n * c }, () => rng.normal())));
    const t = Array.from({ length: n }, () => rng.int(c));
    const dl = Array.from(f32(Array.from({ length: n }, () => rng.normal())));
    const { loss, dx } = await run(
      Array.from({ length: n }, (_, i) => xv.slice(i * c, (i + 1) * c)),
      t,
      'none',
      dl,
    );
    const cpuX = { shape: [n, c], data: xv };
    const cpuT = { shape: [n], dtype: 'int32' as const, data: t };
    expectClose(loss, runReference(crossEntropyOp, [cpuX, cpuT], { ignoreIndex: -100 })[0], { atol: 1e-5 });
    expectClose(
      dx,
      runReference(crossEntropyBackward, [cpuX, cpuT, { shape: [n], data: dl }], { ignoreIndex: -100 })[0],
      { atol: 1e-6 },
    );
  });

  it('shape and dtype errors name the op and both shapes', () => {
    engine().tidy(() => {
      const x = engine().fromArray(new Array(6).fill(0), [2, 3]);
      expect(() => crossEntropy(x, engine().fromArray([0, 1, 2], [3], 'int32'))).toThrow(
        'cross_entropy: expects logits (N, C) with C >= 1 and labels (N) (got (2, 3), (3,))',
      );
      expect(() =>
        crossEntropy(engine().fromArray([0, 0], [2]), engine().fromArray([0, 1], [2], 'int32')),
      ).toThrow('cross_entropy: expects logits (N, C) with C >= 1 and labels (N) (got (2,), (2,))');
      expect(() => crossEntropy(x, engine().fromArray([0, 1], [2]))).toThrow(
        /cross_entropy: labels must be an int32 tensor, got float32 .*\(got \(2, 3\), \(2,\)\)/,
      );
      const t = engine().fromArray([0, 1], [2], 'int32');
      expect(() => crossEntropy(x, t, 'avg' as Reduction)).toThrow(/reduction must be/);
    });
  });
});
