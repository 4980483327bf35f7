/**
 * The seed models trained on WebGPU reach the published numbers:
 * - Nadaraya-Watson with a learnable width, d2l §10.2.4: loss ≈ 12–14 after 5 epochs (noise floor 50 × 0.25 = 12.5);
 *   we require ≤ 16, and the CPU reference run with the same seed agrees to 1e-3 relative.
 * - Masked-token MLP (the project's seed notes): training accuracy ≥ 0.95 within 200 epochs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainClsMlp } from '../src/experiments/cls_mlp.js';
import { trainNadarayaWatson } from '../src/experiments/nadaraya_watson.js';
import { Engine } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';

let gpu: Engine;
beforeAll(async () => {
  gpu = await Engine.create('webgpu');
});
afterAll(() => gpu?.destroy());

describe('Nadaraya-Watson', () => {
  it('reaches a loss <= 16 in 5 epochs on WebGPU and agrees with the CPU reference', async () => {
    setEngine(gpu);
    const onGpu = await trainNadarayaWatson({ seed: 0 });
    expect(onGpu.losses).toHaveLength(5);
    expect(onGpu.finalLoss).toBeLessThanOrEqual(16);
    expect(onGpu.finalLoss).toBeGreaterThan(5); // below the noise floor would mean it fits the noise or a bug
    expect(onGpu.losses[4]).toBeLessThan(onGpu.losses[0]);
    expect(onGpu.attention).toHaveLength(50);
    for (const row of onGpu.attention) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

    const cpu = await Engine.create('cpu');
    setEngine(cpu);
    const onCpu = await trainNadarayaWatson({ seed: 0 });
    expect(Math.abs(onGpu.finalLoss - onCpu.finalLoss) / onCpu.finalLoss).toBeLessThan(1e-3);
    expect(Math.abs(onGpu.w - onCpu.w) / Math.abs(onCpu.w)).toBeLessThan(1e-3);
  });
});

describe('masked-token MLP', () => {
  it('reaches training accuracy >= 0.95 within 200 epochs on WebGPU', async () => {
    setEngine(gpu);
    const r = await trainClsMlp({ seed: 0, stopAtAccuracy: 0.95 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.epochs).toBeLessThanOrEqual(200);
    expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]);
    expect(gpu.memoryStats().tensors).toBe(0);
  });
});
