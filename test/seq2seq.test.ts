/**
 * The Bahdanau seq2seq of d2l: the shapes d2l prints, PyTorch state_dict names, gradients of a whole tiny model on
 * WebGPU against the CPU engine's autograd, flat memory over training steps, and a few epochs on the real corpus
 * slice lowering the loss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { loadDataNmt, nmtData } from '../src/data/translation_arrays.js';
import {
  Seq2SeqAttentionDecoder,
  Seq2SeqEncoder,
  seq2seqAttention,
  swapLeadingAxes,
} from '../src/models/seq2seq.js';
import { manualSeed } from '../src/nn/init.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/runtime/autograd.js';
import { Engine } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';
import { maskedSoftmaxCELoss } from '../src/train/loss.js';
import { predictSeq2Seq } from '../src/train/predict.js';
import { teacherForcingInput, trainSeq2Seq } from '../src/train/trainer.js';
import { expectClose } from './helpers.js';

let gpu: Engine;
let cpu: Engine;
beforeAll(async () => {
  gpu = await Engine.create('webgpu');
  cpu = await Engine.create('cpu');
});
afterAll(() => {
  setEngine(null);
  gpu?.destroy();
  cpu?.destroy();
});

/** A handful of short pairs, enough for a vocabulary and two batches. */
const TINY = {
  source: ['go .', 'i lost .', 'go now .', 'i lost it .', 'go .', 'i won .'].map((s) => s.split(' ')),
  target: ['va !', "j'ai perdu .", 'va !', "j'ai perdu .", 'bouge !', "j'ai gagné ."].map((s) =>
    s.split(' '),
  ),
};

describe('Seq2SeqEncoder and Seq2SeqAttentionDecoder', () => {
  it("give d2l's shapes: X (4, 7), vocab 10, embed 8, hidden 16, 2 layers", async () => {
    setEngine(gpu);
    await gpu.tidyAsync(async () => {
      const opts = { vocabSize: 10, embedSize: 8, numHiddens: 16, numLayers: 2, rng: new Random(0) };
      const encoder = new Seq2SeqEncoder(opts);
      const decoder = new Seq2SeqAttentionDecoder(opts);
      encoder.eval();
      decoder.eval();
      const X = gpu.fromArray(new Array(28).fill(0), [4, 7], 'int32');
      const lens = gpu.fromArray([7, 7, 7, 7], [4], 'int32');
      const [outputs, state] = encoder.forward(X, lens);
      expect(outputs.shape).toEqual([7, 4, 16]);
      expect(state.shape).toEqual([2, 4, 16]);
      const [logits, [encOutputs, hidden, validLens]] = decoder.forward(
        X,
        decoder.initState([outputs, state], lens),
      );
      expect(logits.shape).toEqual([4, 7, 10]);
      expect(encOutputs.shape).toEqual([4, 7, 16]);
      expect(hidden.shape).toEqual([2, 4, 16]);
      expect(validLens).toBe(lens);
      expect(decoder.attentionWeights.map((w) => w.shape)).toEqual(new Array(7).fill([4, 1, 7]));
      encoder.dispose();
      decoder.dispose();
    });
  });

  it('uses the state_dict names of d2l 0.17 (nn.GRU inside, AdditiveAttention, dense)', () => {
    setEngine(cpu);
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
  });

  it('swaps the leading axes as permute(1, 0, 2)', async () => {
    setEngine(gpu);
    await gpu.tidyAsync(async () => {
      const x = gpu.fromArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 3, 2]);
      const y = swapLeadingAxes(x);
      expect(y.shape).toEqual([3, 2, 2]);
      expect(Array.from(await y.data())).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
    });
  });
});

/** Loss and every parameter's gradient of one teacher-forced batch, with dropout (same masks on both engines). */
async function lossAndGrads(e: Engine): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
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

/** Row-major float64 matrix-vector product W (rows, cols) · x, plus b. */
function affine(w: ArrayLike<number>, b: ArrayLike<number> | null, x: number[], rows: number): number[] {
  const cols = x.length;
  return Array.from({ length: rows }, (_, r) => {
    let acc = b ? b[r] : 0;
    for (let c = 0; c < cols; c++) acc += w[r * cols + c] * x[c];
    return acc;
  });
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** One `torch.nn.GRU` step of layer l (the equations of its docs, gates r, z, n). */
function gruStep(
  p: Record<string, ArrayLike<number>>,
  prefix: string,
  l: number,
  x: number[],
  h: number[],
): number[] {
  const n = h.length;
  const gi = affine(p[`${prefix}weight_ih_l${l}`], p[`${prefix}bias_ih_l${l}`], x, 3 * n);
  const gh = affine(p[`${prefix}weight_hh_l${l}`], p[`${prefix}bias_hh_l${l}`], h, 3 * n);
  return h.map((hj, j) => {
    const r = sigmoid(gi[j] + gh[j]);
    const z = sigmoid(gi[n + j] + gh[n + j]);
    const c = Math.tanh(gi[2 * n + j] + r * gh[2 * n + j]);
    return (1 - z) * c + z * hj;
  });
}

/**
 * d2l's Seq2SeqEncoder + Seq2SeqAttentionDecoder forward in eval mode, written from d2l's code in float64, one
 * sequence at a time: logits (Tt, V) of sequence b.
 */
function referenceLogits(
  p: Record<string, ArrayLike<number>>,
  dims: { e: number; h: number; layers: number; v: number },
  src: number[],
  validLen: number,
  tgt: number[],
): number[][] {
  const { e, h, layers, v } = dims;
  const row = (name: string, i: number) => Array.from(p[name]).slice(i * e, (i + 1) * e);
  let state = Array.from({ length: layers }, () => new Array<number>(h).fill(0));
  const encOutputs: number[][] = [];
  for (const tok of src) {
    let x = row('encoder.embedding.weight', tok);
    state = state.map((hl, l) => (x = gruStep(p, 'encoder.rnn.', l, x, hl)));
    encOutputs.push(state[layers - 1]);
  }
  const keys = encOutputs.map((k) => affine(p['decoder.attention.W_k.weight'], null, k, h));
  return tgt.map((tok) => {
    const q = affine(p['decoder.attention.W_q.weight'], null, state[layers - 1], h);
    const wv = p['decoder.attention.w_v.weight'];
    // d2l's masked_softmax: invalid keys get −1e6 before the softmax.
    const scores = keys.map((k, s) =>
      s < validLen ? k.reduce((acc, kj, j) => acc + wv[j] * Math.tanh(q[j] + kj), 0) : -1e6,
    );
    const m = Math.max(...scores);
    const ex = scores.map((sc) => Math.exp(sc - m));
    const total = ex.reduce((a, b) => a + b);
    const context = new Array<number>(h).fill(0);
    encOutputs.forEach((o, s) => o.forEach((oj, j) => (context[j] += (ex[s] / total) * oj)));
    let x = [...context, ...row('decoder.embedding.weight', tok)];
    state = state.map((hl, l) => (x = gruStep(p, 'decoder.rnn.', l, x, hl)));
    return affine(p['decoder.dense.weight'], p['decoder.dense.bias'], state[layers - 1], v);
  });
}

describe('against a float64 reference written from d2l', () => {
  it("gives the logits of d2l's encoder-decoder with masked additive attention", async () => {
    setEngine(gpu);
    const dims = { e: 3, h: 5, layers: 2, v: 7 };
    const model = seq2seqAttention({
      srcVocabSize: 6,
      tgtVocabSize: dims.v,
      embedSize: dims.e,
      numHiddens: dims.h,
      numLayers: dims.layers,
      dropout: 0.3,
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
    await gpu.tidyAsync(async () => {
      const logits = model.forward(
        gpu.fromArray(src.flat(), [3, 4], 'int32'),
        gpu.fromArray(tgt.flat(), [3, 3], 'int32'),
        gpu.fromArray(validLens, [3], 'int32'),
      );
      const p: Record<string, ArrayLike<number>> = {};
      for (const [name, t] of model.namedTensors()) p[name] = await t.data();
      const want = src.flatMap((s, b) => referenceLogits(p, dims, s, validLens[b], tgt[b]).flat());
      expectClose(await logits.data(), want, { atol: 1e-5, rtol: 1e-4, what: 'logits' });
    });
    model.dispose();
  });
});

describe('training', () => {
  it("computes the same loss and gradients on WebGPU as the CPU engine's autograd", async () => {
    const g = await lossAndGrads(gpu);
    const c = await lossAndGrads(cpu);
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
  });

  it('keeps memory flat over epochs and predicts without leaking', async () => {
    setEngine(gpu);
    const data = nmtData(TINY, { batchSize: 4, numSteps: 5 });
    const model = seq2seqAttention({
      srcVocabSize: data.srcVocab.size,
      tgtVocabSize: data.tgtVocab.size,
      embedSize: 4,
      numHiddens: 6,
      rng: new Random(0),
    });
    const snapshots: number[][] = [];
    const before = gpu.memoryStats().tensors;
    await trainSeq2Seq(model, data, {
      epochs: 4,
      onEpoch: () => {
        const s = gpu.memoryStats();
        snapshots.push([s.tensors, s.inUse, s.inUseBytes]);
      },
    });
    expect(snapshots[3]).toEqual(snapshots[1]);
    // Only the parameters remain once the optimizer is gone.
    expect(gpu.memoryStats().tensors).toBe(before);
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
    expect(gpu.memoryStats().tensors).toBe(before);
    model.dispose();
  });

  it('lowers the loss over a few epochs on the real corpus slice', async () => {
    setEngine(gpu);
    const data = await loadDataNmt({ numExamples: 150, batchSize: 64, numSteps: 10 });
    const model = seq2seqAttention({
      srcVocabSize: data.srcVocab.size,
      tgtVocabSize: data.tgtVocab.size,
      rng: new Random(0),
    });
    const r = await trainSeq2Seq(model, data, { epochs: 5, seed: 0 });
    model.dispose();
    expect(r.losses).toHaveLength(5);
    expect(r.losses[4]).toBeLessThan(0.8 * r.losses[0]);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
  });
});
