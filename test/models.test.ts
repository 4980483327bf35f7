/**
 * The seed models trained on WebGPU, against the numbers PyTorch reaches with the same setup.
 *
 * - Nadaraya-Watson, d2l §10.2.4: d2l's printed run ends at a loss of ≈ 12–14 (noise floor 50 × 0.25 = 12.5), but
 *   that is one random draw: d2l's code in PyTorch 1.13 over torch seeds 0–19 ends between 10.6 and 51.4
 *   (median 19.2; 6 of 20 runs ≤ 16; scripts/torch/seed_models.py computes seed 0). The test asks the same
 *   of our draws: at least 5 of 20 seeds ≤ 16 and a median ≤ 22, and GPU = CPU reference to 1e-3.
 * - Masked-token MLP: PyTorch reaches a training accuracy of 0.51–0.54 after 200 epochs on this setup
 *   (fixture `accuracy_200_epochs`), not the 0.95 the issue hoped for; ours must land in PyTorch's range.
 *   Exact per-step parity with PyTorch is in parity.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trainClsMlp } from '../src/experiments/cls_mlp.js';
import { trainNadarayaWatson } from '../src/experiments/nadaraya_watson.js';
import { setEngine } from '../src/runtime/global.js';
import { useEngine } from './engine_fixture.js';

const gpu = useEngine();
const cpu = useEngine('cpu', { current: false });

describe('Nadaraya-Watson', () => {
  it('over 20 seeds ends where PyTorch does: >= 5 runs <= 16, median <= 22', async () => {
    const finals: number[] = [];
    for (let seed = 0; seed < 20; seed++) {
      const r = await trainNadarayaWatson({ seed });
      expect(r.losses).toHaveLength(5);
      finals.push(r.finalLoss);
    }
    finals.sort((a, b) => a - b);
    expect(finals.filter((l) => l <= 16).length).toBeGreaterThanOrEqual(5);
    expect((finals[9] + finals[10]) / 2).toBeLessThanOrEqual(22);
    expect(finals[0]).toBeGreaterThan(5); // far below the noise floor would mean a bug, not a good fit
  });

  it('the trained model gives normalised attention, and the CPU reference agrees to 1e-3', async () => {
    const onGpu = await trainNadarayaWatson({ seed: 1 });
    expect(onGpu.finalLoss).toBeLessThanOrEqual(16);
    expect(onGpu.losses[4]).toBeLessThan(onGpu.losses[0]);
    expect(onGpu.attention).toHaveLength(50);
    for (const row of onGpu.attention) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

    setEngine(cpu());
    const onCpu = await trainNadarayaWatson({ seed: 1 });
    expect(Math.abs(onGpu.finalLoss - onCpu.finalLoss) / onCpu.finalLoss).toBeLessThan(1e-3);
    expect(Math.abs(onGpu.w - onCpu.w) / Math.abs(onCpu.w)).toBeLessThan(1e-3);
  });
});

describe('masked-token MLP', () => {
  it('200 epochs on WebGPU reach the training accuracy PyTorch reaches', async () => {
    const torch: number[] = JSON.parse(
      readFileSync(new URL('./fixtures/cls_mlp.json', import.meta.url), 'utf8'),
    ).accuracy_200_epochs;
    setEngine(gpu());
    const r = await trainClsMlp({ seed: 0 });
    expect(r.epochs).toBe(200);
    expect(r.losses.at(-1)!).toBeLessThan(0.6 * r.losses[0]);
    const lo = Math.min(...torch) - 0.1;
    const hi = Math.max(...torch) + 0.1;
    expect(r.accuracy).toBeGreaterThanOrEqual(lo);
    expect(r.accuracy).toBeLessThanOrEqual(hi);
    expect(gpu().memoryStats().tensors).toBe(0);
  });
});

describe('masked-token self-attention model (embedding + positional encoding + MultiHeadAttention + dense)', () => {
  it('learns on WebGPU: 30 epochs cut the loss and lift accuracy above chance', async () => {
    const r = await trainClsMlp({ model: 'attention', seed: 0, lr: 3e-3, epochs: 30 });
    expect(r.epochs).toBe(30);
    expect(r.losses.at(-1)!).toBeLessThan(0.7 * r.losses[0]);
    // 25 classes occur; chance is 1/25.
    expect(r.accuracy).toBeGreaterThan(0.25);
    expect(gpu().memoryStats().tensors).toBe(0);
  });
});
