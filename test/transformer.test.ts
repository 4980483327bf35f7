/**
 * d2l §11.7 Transformer: d2l's printed shapes, PyTorch state-dict names, decoding token by token with cached block
 * inputs equal to the causal forward of the whole prefix (logits and attention weights), WebGPU gradients equal to
 * the CPU engine's (with dropout), and a few epochs of training lowering the loss on the fra-eng corpus.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { loadDataNmt } from '../src/data/fra_eng_file.js';
import { transformerAttentionHeatmaps } from '../src/experiments/transformer_heatmaps.js';
import { D2L_TRANSFORMER_TRAINING } from '../src/experiments/translate.js';
import {
  D2L_TRANSFORMER_CONFIG,
  TransformerDecoderBlock,
  TransformerEncoder,
  TransformerEncoderBlock,
  buildTransformer,
  type TransformerConfig,
} from '../src/models/transformer.js';
import { manualSeed } from '../src/runtime/random.js';
import { fill } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import { setEngine } from '../src/runtime/global.js';
import { maskedSoftmaxCELoss } from '../src/train/loss.js';
import { trainSeq2Seq } from '../src/train/trainer.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const gpu = useEngine();
const cpu = useEngine('cpu', { current: false });

describe("d2l's printed examples (§11.7)", () => {
  it('encoder block, encoder and decoder block keep (B, T, d)', async () => {
    const valid = gpu().fromArray([3, 2], [2], 'int32').keep();
    const encoderBlk = new TransformerEncoderBlock({
      numHiddens: 24,
      ffnNumHiddens: 48,
      numHeads: 8,
      dropout: 0.5,
    });
    const encoder = new TransformerEncoder({
      vocabSize: 200,
      numHiddens: 24,
      ffnNumHiddens: 48,
      numHeads: 8,
      numBlks: 2,
      dropout: 0.5,
    });
    const decoderBlk = new TransformerDecoderBlock({
      numHiddens: 24,
      ffnNumHiddens: 48,
      numHeads: 8,
      dropout: 0.5,
      i: 0,
    });
    await gpu().tidyAsync(async () => {
      const x = fill([2, 100, 24], 1);
      const enc = encoderBlk.eval().forward(x, valid);
      expect(enc.shape).toEqual([2, 100, 24]);
      const ids = gpu().fromArray(new Array<number>(200).fill(1), [2, 100], 'int32');
      expect(encoder.forward(ids, valid).shape).toEqual([2, 100, 24]);
      // d2l runs the decoder block in training mode here: state = [encoder_blk(X, valid_lens), valid_lens, [None]].
      const [y, state] = decoderBlk.forward(x, { encOutputs: enc, encValidLens: valid, keyValues: [null] });
      expect(y.shape).toEqual([2, 100, 24]);
      expect(state.keyValues[0]!.shape).toEqual([2, 100, 24]);
      expect((await y.data()).every(Number.isFinite)).toBe(true);
    });
    for (const m of [encoderBlk, encoder, decoderBlk]) m.dispose();
    valid.dispose();
  });

  it("names tensors as d2l's PyTorch state_dict", () => {
    const model = buildTransformer(D2L_TRANSFORMER_CONFIG, 184, 201);
    const names = new Map(model.namedTensors().map(([n, t]) => [n, t.shape]));
    expect(names.size).toBe(1 + 2 * 12 + 1 + 2 * 18 + 2);
    expect(names.get('encoder.embedding.weight')).toEqual([184, 32]);
    expect(names.get('encoder.blks.block0.attention.W_q.weight')).toEqual([32, 32]);
    expect(names.has('encoder.blks.block0.attention.W_q.bias')).toBe(false);
    expect(names.get('encoder.blks.block1.addnorm2.ln.bias')).toEqual([32]);
    expect(names.get('encoder.blks.block0.ffn.dense1.weight')).toEqual([64, 32]);
    expect(names.get('decoder.blks.block1.attention2.W_o.weight')).toEqual([32, 32]);
    expect(names.get('decoder.blks.block0.addnorm3.ln.weight')).toEqual([32]);
    expect(names.get('decoder.dense.weight')).toEqual([201, 32]);
    expect(names.get('decoder.dense.bias')).toEqual([201]);
    model.dispose();
  });
});

const TINY: TransformerConfig = { numHiddens: 8, numBlks: 2, dropout: 0.2, ffnNumHiddens: 12, numHeads: 2 };
const [SRC_V, TGT_V, B, S, T] = [11, 13, 2, 6, 5];

/** Source ids (B, S), source lengths, decoder inputs (B, T), labels and label lengths, from one seed. */
function batch(seed: number) {
  const rng = new Random(seed);
  return {
    src: Array.from({ length: B * S }, () => rng.int(SRC_V)),
    srcLens: [4, S],
    dec: Array.from({ length: B * T }, () => rng.int(TGT_V)),
    labels: Array.from({ length: B * T }, () => rng.int(TGT_V)),
    labelLens: [3, T],
  };
}

describe('decoding with cached block inputs', () => {
  it('gives the logits and attention weights of the causal forward over the whole prefix', async () => {
    const live = gpu().memoryStats().tensors;
    manualSeed(5);
    const model = buildTransformer(TINY, SRC_V, TGT_V).eval();
    const { encoder, decoder } = model;
    decoder.captureWeights = true;
    const data = batch(1);
    await gpu().tidyAsync(async () => {
      const src = gpu().fromArray(data.src, [B, S], 'int32');
      const lens = gpu().fromArray(data.srcLens, [B], 'int32');
      const full = await model.forward(src, gpu().fromArray(data.dec, [B, T], 'int32'), lens).data();
      const [fullW] = decoder.recorded;
      expect(fullW.self[1].shape).toEqual([B * 2, T, T]);
      const fullSelf = await fullW.self[1].data();
      const fullCross = await fullW.cross[0].data();
      decoder.clearRecorded();
      let state = decoder.initState(encoder.forward(src, lens), lens);
      for (let t = 0; t < T; t++) {
        const column = [data.dec[t], data.dec[T + t]];
        const [logits, next] = decoder.forward(gpu().fromArray(column, [B, 1], 'int32'), state);
        state = next;
        expect(state.keyValues.map((kv) => kv!.shape)).toEqual([
          [B, t + 1, 8],
          [B, t + 1, 8],
        ]);
        const step = await logits.data();
        for (let b = 0; b < B; b++)
          expectClose(
            step.subarray(b * TGT_V, (b + 1) * TGT_V),
            full.subarray((b * T + t) * TGT_V, (b * T + t + 1) * TGT_V),
            { atol: 2e-5, what: `logits of item ${b} at step ${t}` },
          );
        const w = decoder.recorded[t];
        expect(w.self[1].shape).toEqual([B * 2, 1, t + 1]);
        expect(w.cross[0].shape).toEqual([B * 2, 1, S]);
        const self = await w.self[1].data();
        const cross = await w.cross[0].data();
        for (let r = 0; r < B * 2; r++) {
          // Row t of the full forward: keys 0 … t as decoded, later keys masked to exactly 0.
          const row = fullSelf.subarray((r * T + t) * T, (r * T + t + 1) * T);
          expectClose(self.subarray(r * (t + 1), (r + 1) * (t + 1)), row.subarray(0, t + 1), {
            atol: 1e-6,
            what: `self-attention row ${r}, step ${t}`,
          });
          expect(Array.from(row.subarray(t + 1))).toEqual(new Array<number>(T - t - 1).fill(0));
          expectClose(
            cross.subarray(r * S, (r + 1) * S),
            fullCross.subarray((r * T + t) * S, (r * T + t + 1) * S),
            {
              atol: 1e-6,
              what: `cross-attention row ${r}, step ${t}`,
            },
          );
        }
      }
    });
    expect(decoder.recorded.length).toBe(T);
    // d2l's heatmap arrays over the decoded steps: (numBlks, numHeads, steps, S), self-attention lower-triangular.
    model.encoder.captureWeights = true;
    await gpu().tidyAsync(async () => {
      model.encoder.forward(
        gpu().fromArray(data.src, [B, S], 'int32'),
        gpu().fromArray(data.srcLens, [B], 'int32'),
      );
    });
    const maps = await transformerAttentionHeatmaps(model, 1);
    expect(maps.encoder.map((b) => b.map((h) => [h.length, h[0].length]))).toEqual(
      new Array(2).fill([
        [S, S],
        [S, S],
      ]),
    );
    for (const grid of [maps.decoderSelf, maps.decoderCross])
      expect(grid.map((b) => b.map((h) => [h.length, h[0].length]))).toEqual(
        new Array(2).fill([
          [T, S],
          [T, S],
        ]),
      );
    maps.decoderSelf.flat(2).forEach((row, r) => {
      const t = r % T;
      expect(row.slice(t + 1).every((v) => v === 0)).toBe(true);
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    });
    // Model-owned: P and its prefixes, causal masks, the MHAs' kept weights, the recorded weights.
    model.dispose();
    expect(gpu().memoryStats().tensors).toBe(live);
  });
});

describe('gradients', () => {
  it('on WebGPU match the CPU engine, in training mode with dropout', async () => {
    const data = batch(2);
    const results: Float32Array[][] = [];
    for (const e of [gpu(), cpu()]) {
      setEngine(e);
      manualSeed(3);
      const model = buildTransformer(TINY, SRC_V, TGT_V);
      const params = model.parameters();
      results.push(
        await e.tidyAsync(async () => {
          // One seed on both engines: the same dropout masks.
          manualSeed(11);
          const logits = model.forward(
            e.fromArray(data.src, [B, S], 'int32'),
            e.fromArray(data.dec, [B, T], 'int32'),
            e.fromArray(data.srcLens, [B], 'int32'),
          );
          backward(
            sum(maskedSoftmaxCELoss(logits, e.fromArray(data.labels, [B, T], 'int32'), data.labelLens)),
          );
          return Promise.all(params.map(async (p) => Float32Array.from(await p.grad!.data())));
        }),
      );
      model.dispose();
    }
    const names = buildTransformer(TINY, SRC_V, TGT_V);
    const paramNames = names.namedTensors().map(([n]) => n);
    names.dispose();
    expect(results[0].length).toBe(paramNames.length);
    results[0].forEach((g, n) =>
      expectClose(g, results[1][n], { atol: 2e-5, rtol: 1e-3, what: `d${paramNames[n]}` }),
    );
    // Every parameter takes part: none has an all-zero gradient.
    results[1].forEach((g, n) =>
      expect(
        g.some((v) => v !== 0),
        paramNames[n],
      ).toBe(true),
    );
  });
});

describe('training on fra-eng', () => {
  it("lowers the loss within a few epochs with d2l's hyperparameters", async () => {
    const { batchSize, numSteps, lr } = D2L_TRANSFORMER_TRAINING;
    const data = await loadDataNmt({ batchSize, numSteps, numExamples: 200 });
    const live = gpu().memoryStats().tensors;
    manualSeed(0);
    const model = buildTransformer(D2L_TRANSFORMER_CONFIG, data.srcVocab.size, data.tgtVocab.size);
    const { losses } = await trainSeq2Seq(model, data, { lr, epochs: 5, seed: 0, name: 'transformer' });
    expect(losses[4]).toBeLessThan(0.6 * losses[0]);
    model.dispose();
    expect(gpu().memoryStats().tensors).toBe(live);
  }, 60_000);
});
