/**
 * The masked-token task solved by attention: the held-out split, ClsTransformer's shapes, state-dict names and
 * cls-row weights, and its training target (accuracy ≥ 0.99 within 200 epochs, seed 0 here; npm start runs seeds
 * 0–2). PyTorch parity of the first 20 steps is in parity.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLS_ID, heldOutSplit, maskedTokenData } from '../src/data/masked_tokens.js';
import { Random } from '../src/data/random.js';
import { trainClsMlp } from '../src/experiments/cls_mlp.js';
import { ClsTransformer } from '../src/models/cls_transformer.js';
import { useEngine } from './engine_fixture.js';

const data = maskedTokenData();
const key = (i: number) => data.inputs.subarray(i * 10, (i + 1) * 10).join(',');

describe('held-out split of the masked-token inputs', () => {
  const split = heldOutSplit(data, 0.2, new Random(0));

  it('splits the 153 distinct inputs 122/31, keeping every duplicate on the training side', () => {
    expect(split.uniqueInputs).toBe(153);
    expect(split.heldOut).toHaveLength(31);
    expect(new Set(split.train.map(key)).size).toBe(122);
    expect(split.train.length + split.heldOut.length).toBeLessThanOrEqual(250);
    // Every sample is on one side: training (all copies) or held out (one copy).
    const held = new Set(split.heldOut.map(key));
    expect(held.size).toBe(31);
    const train = new Set(split.train.map(key));
    for (let i = 0; i < 250; i++) expect(train.has(key(i)) !== held.has(key(i))).toBe(true);
    expect(split.train.filter((i) => held.has(key(i)))).toEqual([]);
    expect(split.train).toHaveLength(data.labels.filter((_, i) => train.has(key(i))).length);
  });

  it('depends on the generator only', () => {
    expect(heldOutSplit(data, 0.2, new Random(0))).toEqual(split);
    expect(heldOutSplit(data, 0.2, new Random(1)).heldOut).not.toEqual(split.heldOut);
    expect(heldOutSplit(data, 0, new Random(0)).train).toHaveLength(250);
    expect(() => heldOutSplit(data, 1, new Random(0))).toThrow(RangeError);
  });
});

describe('ClsTransformer on WebGPU', () => {
  const gpu = useEngine();

  it("has the PyTorch script's state-dict names and shapes, and maps (B, 10) windows to (B, 26) logits", async () => {
    const ref = JSON.parse(readFileSync(new URL('./fixtures/cls_transformer.json', import.meta.url), 'utf8'));
    const net = new ClsTransformer();
    const names = net.namedTensors().map(([n, t]) => [n, t.numel()]);
    expect(names).toEqual(Object.entries(ref.initial).map(([n, v]) => [n, (v as number[]).length]));
    const ids = Array.from(data.inputs.subarray(0, 30));
    const tokens = gpu().fromArray(ids, [3, 10], 'int32');
    const clsMask = gpu().fromArray(
      ids.map((t) => (t === CLS_ID ? 1 : 0)),
      [3, 10],
    );
    const logits = gpu().tidy(() => gpu().noGrad(() => net.forward(tokens, clsMask)));
    expect(logits.shape).toEqual([3, 26]);
    expect((await logits.data()).every(Number.isFinite)).toBe(true);
    for (const t of [tokens, clsMask, logits]) t.dispose();
    net.dispose();
    expect(gpu().memoryStats().tensors).toBe(0);
  });

  it('reaches training accuracy >= 0.99 within 200 epochs (seed 0), then the cls row sums to 1 per block and head', async () => {
    let weights: number[][][] = [];
    const r = await trainClsMlp({
      model: 'transformer',
      seed: 0,
      stopAtAccuracy: 0.99,
      inspect: async (net) => {
        weights = await (net as ClsTransformer).clsAttention(Array.from(data.inputs.subarray(40, 50)));
      },
    });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.99);
    expect(r.epochs).toBeLessThanOrEqual(200);
    expect(weights).toHaveLength(2);
    for (const heads of weights) {
      expect(heads).toHaveLength(4);
      for (const row of heads) {
        expect(row).toHaveLength(10);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
    }
    expect(gpu().memoryStats().tensors).toBe(0);
  });
});
