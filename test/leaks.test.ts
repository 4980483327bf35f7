/** Live tensors, buffers and bytes stay flat over 200 training steps (pooling and tidy work together). */
import { expect, it } from 'vitest';
import { maskedTokenData } from '../src/data/masked_tokens.js';
import { Random } from '../src/data/random.js';
import { clsMlp } from '../src/models/cls_mlp.js';
import { crossEntropy } from '../src/ops/cross_entropy.js';
import { Adam } from '../src/optim/adam.js';
import { clipGradNorm } from '../src/optim/clip.js';
import { backward } from '../src/ops/autograd.js';
import type { MemoryStats } from '../src/runtime/engine.js';
import { useEngine } from './engine_fixture.js';

const engine = useEngine();

it('memory stays flat over 200 training steps of the masked-token MLP', async () => {
  const data = maskedTokenData();
  const rng = new Random(3);
  const net = clsMlp(rng);
  const opt = new Adam(net.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
  const snapshots: MemoryStats[] = [];
  let lastLoss = NaN;
  for (let step = 1; step <= 200; step++) {
    const idx = Array.from({ length: 10 }, () => rng.int(250));
    const x = engine().fromArray(
      idx.flatMap((i) => Array.from(data.inputs.subarray(i * 10, i * 10 + 10))),
      [10, 10],
    );
    const y = engine().fromArray(
      idx.map((i) => data.labels[i]),
      [10],
      'int32',
    );
    const loss = engine().tidy(() => {
      opt.zeroGrad();
      const l = crossEntropy(net.forward(x), y);
      backward(l);
      clipGradNorm(net.parameters(), 1);
      opt.step();
      return l;
    });
    x.dispose();
    y.dispose();
    if (step % 50 === 0) lastLoss = await loss.item();
    loss.dispose();
    // Snapshot after the first readback (step 50) has created its staging buffer.
    if (step === 50 || step === 200) snapshots.push(engine().memoryStats());
  }
  expect(Number.isFinite(lastLoss)).toBe(true);
  const [early, late] = snapshots;
  expect(late.tensors).toBe(early.tensors);
  expect(late.inUse).toBe(early.inUse);
  expect(late.inUseBytes).toBe(early.inUseBytes);
  expect(late.buffers).toBe(early.buffers);
  expect(late.bytes).toBe(early.bytes);
  opt.dispose();
  net.dispose();
  expect(engine().memoryStats().tensors).toBe(0);
});
