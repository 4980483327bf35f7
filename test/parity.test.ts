/**
 * Parity with PyTorch on identical data, initial weights and batch order. Fixtures come from
 * scripts/torch/seed_models.py and scripts/torch/cls_transformer.py (Debian's python3-torch 1.13, CPU), which write
 * d2l's code as the book does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLS_ID, maskedTokenData } from '../src/data/masked_tokens.js';
import { trainNadarayaWatson } from '../src/experiments/nadaraya_watson.js';
import { clsMlp } from '../src/models/cls_mlp.js';
import { ClsTransformer } from '../src/models/cls_transformer.js';
import { crossEntropy } from '../src/ops/cross_entropy.js';
import { Adam } from '../src/optim/adam.js';
import { backward } from '../src/ops/autograd.js';
import type { Backend } from '../src/runtime/engine.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));

// The CPU reference backend must match PyTorch as closely as the WebGPU one.
describe.each<Backend>(['webgpu', 'cpu'])('PyTorch parity on %s', (backend) => {
  const engine = useEngine(backend);

  it('Nadaraya-Watson: d2l §10.2.4 losses per epoch and the learned w', async () => {
    const ref = fixture('nadaraya_watson');
    const r = await trainNadarayaWatson({
      data: { xTrain: Float32Array.from(ref.x_train), yTrain: Float32Array.from(ref.y_train) },
      initialW: ref.w0,
    });
    expectClose(r.losses, ref.losses, { atol: 1e-4, rtol: 1e-4, what: 'losses' });
    expect(r.w).toBeCloseTo(ref.w, 3);
  });

  it('masked-token MLP: 75 Adam steps give PyTorch losses and final weights', async () => {
    const ref = fixture('cls_mlp');
    const data = maskedTokenData();
    const net = clsMlp();
    net.loadStateDict(ref.initial);
    const opt = new Adam(net.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
    const losses = [];
    for (const idx of ref.batches as number[][]) {
      const x = engine().fromArray(
        idx.flatMap((i) => Array.from(data.inputs.subarray(i * 10, i * 10 + 10))),
        [idx.length, 10],
      );
      const y = engine().fromArray(
        idx.map((i) => data.labels[i]),
        [idx.length],
        'int32',
      );
      const loss = engine().tidy(() => {
        opt.zeroGrad();
        const l = crossEntropy(net.forward(x), y);
        backward(l);
        opt.step();
        return l;
      });
      losses.push(await loss.item());
      for (const t of [x, y, loss]) t.dispose();
    }
    expectClose(losses, ref.losses, { atol: 1e-4, rtol: 1e-3, what: 'per-step losses' });
    // Adam moves a weight by up to lr = 1e-3 per step whatever the gradient's size, so float32 rounding of a
    // near-zero gradient can shift a weight by a fraction of lr: compare weights to half a step.
    // Running statistics integrate squared activations of inputs up to 27, which magnifies those differences.
    for (const [name, t] of net.namedTensors()) {
      const stats = name.includes('running');
      expectClose(await t.data(), ref.final[name], {
        atol: stats ? 1e-3 : 5e-4,
        rtol: stats ? 5e-3 : 1e-3,
        what: `final ${name}`,
      });
    }
    opt.dispose();
    net.dispose();
  });
  it('ClsTransformer: the first 20 Adam steps give PyTorch losses to 1e-4 relative', async () => {
    const ref = fixture('cls_transformer');
    const data = maskedTokenData();
    const net = new ClsTransformer();
    net.loadStateDict(ref.initial);
    const opt = new Adam(net.parameters(), { lr: ref.config.lr, weightDecay: ref.config.weight_decay });
    const losses = [];
    for (const idx of ref.batches as number[][]) {
      const ids = idx.flatMap((i) => Array.from(data.inputs.subarray(i * 10, i * 10 + 10)));
      const tokens = engine().fromArray(ids, [idx.length, 10], 'int32');
      const clsMask = engine().fromArray(
        ids.map((t) => (t === CLS_ID ? 1 : 0)),
        [idx.length, 10],
      );
      const y = engine().fromArray(
        idx.map((i) => data.labels[i]),
        [idx.length],
        'int32',
      );
      const loss = engine().tidy(() => {
        opt.zeroGrad();
        const l = crossEntropy(net.forward(tokens, clsMask), y);
        backward(l);
        opt.step();
        return l;
      });
      losses.push(await loss.item());
      for (const t of [tokens, clsMask, y, loss]) t.dispose();
    }
    expect(losses).toHaveLength(20);
    expectClose(losses, ref.losses, { atol: 0, rtol: 1e-4, what: 'per-step losses' });
    opt.dispose();
    net.dispose();
  });
});
