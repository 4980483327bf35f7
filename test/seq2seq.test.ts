/**
 * The Bahdanau seq2seq of d2l, with its GRU and with an LSTM: the shapes d2l prints, PyTorch state_dict names,
 * logits against a float64 reference, gradients of a whole tiny model on WebGPU against the CPU engine's autograd,
 * flat memory over training steps, a few epochs on the real corpus slice lowering the loss, and the validation loss.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { loadDataNmt } from '../src/data/fra_eng_file.js';
import { nmtData } from '../src/data/translation_arrays.js';
import {
  Seq2SeqAttentionDecoder,
  Seq2SeqEncoder,
  seq2seqAttention,
  swapLeadingAxes,
  type Cell,
  type RNNState,
} from '../src/models/seq2seq.js';
import { manualSeed } from '../src/runtime/random.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';
import { maskedSoftmaxCELoss } from '../src/train/loss.js';
import { predictSeq2Seq } from '../src/train/predict.js';
import { evaluateLoss, teacherForcingInput, trainSeq2Seq } from '../src/train/trainer.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';
import { referenceLogits } from './seq2seq_reference.js';

const gpu = useEngine();
const cpu = useEngine('cpu', { current: false });

/** A handful of short pairs, enough for a vocabulary and two batches. */
const TINY = {
  source: ['go .', 'i lost .', 'go now .', 'i lost it .', 'go .', 'i won .'].map((s) => s.split(' ')),
  target: ['va !', "j'ai perdu .", 'va !', "j'ai perdu .", 'bouge !', "j'ai gagné ."].map((s) =>
    s.split(' '),
  ),
};

const CELLS: Cell[] = ['gru', 'lstm'];
/** The shapes of a state: [h] for a GRU, [h, c] for an LSTM. */
const stateShapes = (s: RNNState) => (Array.isArray(s) ? s : [s]).map((t) => t.shape);

describe('Seq2SeqEncoder and Seq2SeqAttentionDecoder', () => {
  it.each(CELLS)("give d2l's shapes: X (4, 7), vocab 10, embed 8, hidden 16, 2 layers (%s)", async (cell) => {
    await gpu().tidyAsync(async () => {
      const opts = { vocabSize: 10, embedSize: 8, numHiddens: 16, numLayers: 2, cell, rng: new Random(0) };
      const encoder = new Seq2SeqEncoder(opts);
      const decoder = new Seq2SeqAttentionDecoder(opts);
      encoder.eval();
      decoder.eval();
      const X = gpu().fromArray(new Array(28).fill(0), [4, 7], 'int32');
      const lens = gpu().fromArray([7, 7, 7, 7], [4], 'int32');
      const [outputs, state] = encoder.forward(X, lens);
      expect(outputs.shape).toEqual([7, 4, 16]);
      const stateShape = new Array(cell === 'lstm' ? 2 : 1).fill([2, 4, 16]);
      expect(stateShapes(state)).toEqual(stateShape);
      const [logits, [encOutputs, hidden, validLens]] = decoder.forward(
        X,
        decoder.initState([outputs, state], lens),
      );
      expect(logits.shape).toEqual([4, 7, 10]);
      expect(encOutputs.shape).toEqual([4, 7, 16]);
      expect(stateShapes(hidden)).toEqual(stateShape);
      expect(validLens).toBe(lens);
      expect(decoder.attentionWeights.map((w) => w.shape)).toEqual(new Array(7).fill([4, 1, 7]));
      encoder.dispose();
      decoder.dispose();
    });
  });

  it('uses the state_dict names of d2l 0.17 (nn.GRU or nn.LSTM inside, AdditiveAttention, dense)', () => {
    setEngine(cpu());
    const m = seq2seqAttention({
      srcVocabSize: 11,
      tgtVocabSize: 13,
      embedSize: 4,
      numHiddens: 6,
      numLayers: 1,
    });
    expect(m.namedTensors().map(([n, t]) => `${n} ${t.shape.join('x')}`)).toEqual([
      'encoder.embedding.weight 11x4',
      'encoder.rnn.weight_ih_l0 18x4',
      'encoder.rnn.weight_hh_l0 18x6',
      'encoder.rnn.bias_ih_l0 18',
      'encoder.rnn.bias_hh_l0 18',
      'decoder.attention.W_k.weight 6x6',
      'decoder.attention.W_q.weight 6x6',
      'decoder.attention.w_v.weight 1x6',
      'decoder.embedding.weight 13x4',
      'decoder.rnn.weight_ih_l0 18x10',
      'decoder.rnn.weight_hh_l0 18x6',
      'decoder.rnn.bias_ih_l0 18',
      'decoder.rnn.bias_hh_l0 18',
      'decoder.dense.weight 13x6',
      'decoder.dense.bias 13',
    ]);
    m.dispose();
    const lstm = seq2seqAttention({
      srcVocabSize: 11,
      tgtVocabSize: 13,
      embedSize: 4,
      numHiddens: 6,
      numLayers: 1,
      cell: 'lstm',
    });
    const rnnShapes = lstm.namedTensors().filter(([n]) => n.includes('.rnn.'));
    expect(rnnShapes.map(([n, t]) => `${n} ${t.shape.join('x')}`)).toEqual([
      'encoder.rnn.weight_ih_l0 24x4',
      'encoder.rnn.weight_hh_l0 24x6',
      'encoder.rnn.bias_ih_l0 24',
      'encoder.rnn.bias_hh_l0 24',
      'decoder.rnn.weight_ih_l0 24x10',
      'decoder.rnn.weight_hh_l0 24x6',
      'decoder.rnn.bias_ih_l0 24',
      'decoder.rnn.bias_hh_l0 24',
    ]);
    lstm.dispose();
  });

  it('swaps the leading axes as permute(1, 0, 2)', async () => {
    await gpu().tidyAsync(async () => {
      const x = gpu().fromArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 3, 2]);
      const y = swapLeadingAxes(x);
      expect(y.shape).toEqual([3, 2, 2]);
      expect(Array.from(await y.data())).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
    });
  });
});

/** Loss and every parameter's gradient of one teacher-forced batch, with dropout (same masks on both engines). */
async function lossAndGrads(
  e: Engine,
  cell: Cell,
): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  setEngine(e);
  manualSeed(7);
  const data = nmtData(TINY, { batchSize: 6, numSteps: 5 });
  const model = seq2seqAttention({
    srcVocabSize: data.srcVocab.size,
    tgtVocabSize: data.tgtVocab.size,
    embedSize: 5,
    numHiddens: 7,
    numLayers: 2,
    dropout: 0.2,
    cell,
    rng: new Random(3),
  });
  const batch = data.batches().next().value!;
  const bos = data.tgtVocab.index('<bos>');
  try {
    return await e.tidyAsync(async () => {
      const X = e.fromArray(batch.X, [batch.size, 5], 'int32');
      const lens = e.fromArray(batch.XValidLen, [batch.size], 'int32');
      const decX = e.fromArray(teacherForcingInput(batch.Y, batch.size, 5, bos), [batch.size, 5], 'int32');
      const Y = e.fromArray(batch.Y, [batch.size, 5], 'int32');
      const l = sum(maskedSoftmaxCELoss(model.forward(X, decX, lens), Y, batch.YValidLen));
      backward(l);
      const grads: Record<string, Float32Array> = {};
      for (const [name, p] of model.namedTensors()) grads[name] = (await p.grad!.data()) as Float32Array;
      return { loss: await l.item(), grads };
    });
  } finally {
    model.dispose();
  }
}

describe('against a float64 reference written from d2l', () => {
  it.each(CELLS)(
    "gives the logits of d2l's encoder-decoder with masked additive attention (%s)",
    async (cell) => {
      const dims = { e: 3, h: 5, layers: 2, v: 7 };
      const model = seq2seqAttention({
        srcVocabSize: 6,
        tgtVocabSize: dims.v,
        embedSize: dims.e,
        numHiddens: dims.h,
        numLayers: dims.layers,
        dropout: 0.3,
        cell,
        rng: new Random(5),
      }).eval();
      const src = [
        [1, 2, 3, 4],
        [5, 0, 2, 2],
        [3, 3, 1, 0],
      ];
      const tgt = [
        [1, 6, 2],
        [0, 3, 5],
        [4, 4, 4],
      ];
      const validLens = [4, 1, 3];
      await gpu().tidyAsync(async () => {
        // Weights × 3 take tanh out of its linear range, where w_v·W_q·q is the same for every key and the query
        // would all but cancel out of the softmax; then using the wrong state as the query shows in the logits.
        for (const t of model.parameters())
          t.assign(
            gpu().fromArray(
              Array.from(await t.data(), (v) => 3 * v),
              t.shape,
            ),
          );
        const logits = model.forward(
          gpu().fromArray(src.flat(), [3, 4], 'int32'),
          gpu().fromArray(tgt.flat(), [3, 3], 'int32'),
          gpu().fromArray(validLens, [3], 'int32'),
        );
        const p: Record<string, ArrayLike<number>> = {};
        for (const [name, t] of model.namedTensors()) p[name] = await t.data();
        const want = src.flatMap((s, b) => referenceLogits(cell, p, dims, s, validLens[b], tgt[b]).flat());
        expectClose(await logits.data(), want, { atol: 1e-5, rtol: 1e-4, what: 'logits' });
      });
      model.dispose();
    },
  );
});

describe('training', () => {
  it.each(CELLS)(
    "computes the same loss and gradients on WebGPU as the CPU engine's autograd (%s)",
    async (cell) => {
      const g = await lossAndGrads(gpu(), cell);
      const c = await lossAndGrads(cpu(), cell);
      expect(g.loss).toBeGreaterThan(0);
      expectClose([g.loss], [c.loss], { atol: 1e-5, rtol: 1e-4, what: 'loss' });
      expect(Object.keys(g.grads)).toEqual(Object.keys(c.grads));
      for (const name of Object.keys(c.grads)) {
        expect(
          c.grads[name].some((v) => v !== 0),
          `${name} has a gradient`,
        ).toBe(true);
        expectClose(g.grads[name], c.grads[name], { atol: 1e-5, rtol: 1e-3, what: name });
      }
    },
  );

  it('keeps memory flat over epochs and predicts without leaking', async () => {
    const data = nmtData(TINY, { batchSize: 4, numSteps: 5 });
    const model = seq2seqAttention({
      srcVocabSize: data.srcVocab.size,
      tgtVocabSize: data.tgtVocab.size,
      embedSize: 4,
      numHiddens: 6,
      rng: new Random(0),
    });
    const snapshots: number[][] = [];
    const before = gpu().memoryStats().tensors;
    await trainSeq2Seq(model, data, {
      epochs: 4,
      onEpoch: () => {
        const s = gpu().memoryStats();
        snapshots.push([s.tensors, s.inUse, s.inUseBytes]);
      },
    });
    expect(snapshots[3]).toEqual(snapshots[1]);
    // Only the parameters remain once the optimizer is gone.
    expect(gpu().memoryStats().tensors).toBe(before);
    const p = await predictSeq2Seq(model, 'go .', data.srcVocab, data.tgtVocab, 5, {
      saveAttentionWeights: true,
    });
    expect(p.attentionWeights!.length).toBeGreaterThan(0);
    for (const row of p.attentionWeights!) {
      expect(row.length).toBe(5);
      // 'go .' + <eos> is 3 valid keys: the padded ones get no weight.
      expectClose([row.reduce((a, b) => a + b)], [1], { what: 'weights sum' });
      expect(row.slice(3)).toEqual([0, 0]);
    }
    expect(gpu().memoryStats().tensors).toBe(before);
    model.dispose();
  });

  it.each(CELLS)('lowers the loss over a few epochs on the real corpus slice (%s)', async (cell) => {
    const data = await loadDataNmt({ numExamples: 150, batchSize: 64, numSteps: 10 });
    const model = seq2seqAttention({
      srcVocabSize: data.srcVocab.size,
      tgtVocabSize: data.tgtVocab.size,
      cell,
      rng: new Random(0),
    });
    const r = await trainSeq2Seq(model, data, { epochs: 5, seed: 0 });
    model.dispose();
    expect(r.losses).toHaveLength(5);
    expect(r.losses[4]).toBeLessThan(0.8 * r.losses[0]);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
  });
});

describe('validation', () => {
  it('reports a finite validation loss per epoch, computed without touching the weights', async () => {
    const data = await loadDataNmt({
      numExamples: 300,
      validationFraction: 0.2,
      batchSize: 64,
      numSteps: 10,
    });
    const validation = data.validation!;
    expect(validation.size).toBe(60);
    const model = seq2seqAttention({
      srcVocabSize: data.srcVocab.size,
      tgtVocabSize: data.tgtVocab.size,
      rng: new Random(0),
    });
    const seen: (number | undefined)[] = [];
    const r = await trainSeq2Seq(model, data, {
      epochs: 2,
      seed: 0,
      validation,
      onEpoch: (_epoch, _loss, _tps, validationLoss) => seen.push(validationLoss),
    });
    expect(r.validationLosses).toHaveLength(2);
    expect(seen).toEqual(r.validationLosses);
    for (const l of r.validationLosses!) expect(Number.isFinite(l) && l > 0).toBe(true);
    expect(model.training).toBe(true);
    const before = await Promise.all(model.parameters().map((p) => p.data()));
    const tensors = gpu().memoryStats().tensors;
    const a = await evaluateLoss(model, validation, data.tgtVocab.index('<bos>'), data.numSteps);
    const b = await evaluateLoss(model, validation, data.tgtVocab.index('<bos>'), data.numSteps);
    // Eval mode: no dropout mask, so the same number twice; and it is the last epoch's reported loss.
    expect(b).toBe(a);
    expect(a).toBeCloseTo(r.validationLosses!.at(-1)!, 5);
    expect(model.training).toBe(true);
    expect(gpu().memoryStats().tensors).toBe(tensors);
    const after = await Promise.all(model.parameters().map((p) => p.data()));
    after.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(before[i])));
    expect(model.parameters().every((p) => !p.grad)).toBe(true);
    model.dispose();
  });
});
