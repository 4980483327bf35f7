/**
 * The training step of each model in src/models, as its trainer writes it (src/train/trainer.ts,
 * src/experiments/nadaraya_watson.ts, src/experiments/cls_mlp.ts), with its TF.js twin from bench/peers/. Batches
 * are random but fixed by seed; the translation models use the vocabulary sizes of d2l's 600 fra-eng pairs.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import {
  Adam,
  buildTransformer,
  ClsAttention,
  clsMlp,
  crossEntropy,
  type Engine,
  maskedSoftmaxCELoss,
  maskedTokenData,
  type Module,
  nwData,
  NWKernelRegression,
  nwKeysValues,
  positionalEncodingMatrix,
  Random,
  seq2seqAttention,
  type Sequential,
  SGD,
  square,
  sub,
  sum,
  type Tensor,
  type Transformer,
} from '../../src/index.js';
import { CLS_ID, NUM_CLASSES, sequenceMask, teacherForcingInput } from '../../src/internal.js';
import { randomInts } from '../harness/check.js';
import { jaxArray } from '../harness/jax.js';
import type { TF } from '../harness/types.js';
import { jaxClsAttentionLoss } from '../peers/jax_cls.js';
import type { JaxPeerStep } from '../peers/jax_train.js';
import { tfClsAttentionLogits, tfClsMlpLogits, tfCrossEntropy } from '../peers/tfjs_cls.js';
import { tfNwLoss } from '../peers/tfjs_nadaraya_watson.js';
import { tfSeq2SeqLogits } from '../peers/tfjs_seq2seq.js';
import { tfMaskedCELossSum } from '../peers/tfjs_train.js';
import { tfTransformerLens, tfTransformerLogits } from '../peers/tfjs_transformer.js';
import type { PeerStep, StepSpec } from './train.js';

/** Initialisation seed: every `build()` draws the same weights. */
const INIT_SEED = 1;
/** len(src_vocab), len(tgt_vocab) and `<bos>` of d2l's 600 fra-eng pairs (src/data/translation_arrays.ts). */
const SRC_VOCAB = 184;
const TGT_VOCAB = 201;
const BOS = 2;
const PAD = 1;

/** A random (B, T) batch: ids in [3, V) up to each valid length in [1, T], `<pad>` after it. */
function sequences(b: number, t: number, vocab: number, seed: number) {
  const lens = randomInts(b, 1, t, seed);
  const ids = randomInts(b * t, 3, vocab - 1, seed + 1);
  ids.forEach((_, i) => (ids[i] = i % t < lens[(i / t) | 0] ? ids[i] : PAD));
  return { ids, lens };
}

export interface TranslationSize {
  batch: number;
  numSteps: number;
  /** Embedding and hidden size (seq2seq), model width d (Transformer). */
  hidden: number;
  quick: boolean;
}

/** A translation batch on both sides and the masked CE loss sum of d2l's `train_seq2seq`. */
function translationBatch({ batch: b, numSteps: t }: TranslationSize) {
  const src = sequences(b, t, SRC_VOCAB, 11);
  const tgt = sequences(b, t, TGT_VOCAB, 13);
  const decX = teacherForcingInput(tgt.ids, b, t, BOS);
  return {
    src,
    tgt,
    decX,
    inputs: (e: Engine) => [
      e.fromArray(src.ids, [b, t], 'int32'),
      e.fromArray(src.lens, [b], 'int32'),
      e.fromArray(decX, [b, t], 'int32'),
      e.fromArray(tgt.ids, [b, t], 'int32'),
    ],
    tfInputs: (tf: TF) => [
      tf.tensor2d(src.ids, [b, t], 'int32'),
      tf.tensor1d(src.lens, 'int32'),
      tf.tensor2d(decX, [b, t], 'int32'),
      tf.tensor2d(tgt.ids, [b, t], 'int32'),
    ],
    /** The mask is uploaded every step on both sides, as our `maskedSoftmaxCELoss` does. */
    tfLoss: (tf: TF, logits: TfTensor, Y: TfTensor) =>
      tfMaskedCELossSum(tf, logits, Y, tf.tensor2d(sequenceMask(tgt.lens, t), [b, t])),
  };
}

/** d2l's Adam (lr 0.005) with `grad_clipping(net, 1)`. */
const translationTraining = {
  optimizer: (params: Tensor[]) => new Adam(params, { lr: 0.005 }),
  tfOptimizer: (tf: TF) => tf.train.adam(0.005, 0.9, 0.999, 1e-8),
  maxNorm: 1,
};

const translationParams = (s: TranslationSize) => ({
  size: s.hidden,
  batch: s.batch,
  numSteps: s.numSteps,
  srcVocab: SRC_VOCAB,
  tgtVocab: TGT_VOCAB,
  optimizer: 'adam lr 0.005, clip 1',
});

/** The Bahdanau seq2seq (d2l 0.17 §10.4, GRU, 2 layers) with embed = hidden = `hidden`. */
export function seq2seqStep(s: TranslationSize): StepSpec<Module> {
  const data = translationBatch(s);
  type Model = ReturnType<typeof seq2seqAttention>;
  return {
    name: 'seq2seq',
    size: `${s.batch}x${s.numSteps}x${s.hidden}`,
    params: { ...translationParams(s), embedSize: s.hidden, numHiddens: s.hidden, numLayers: 2 },
    quick: s.quick,
    build: () =>
      seq2seqAttention({
        srcVocabSize: SRC_VOCAB,
        tgtVocabSize: TGT_VOCAB,
        embedSize: s.hidden,
        numHiddens: s.hidden,
        numLayers: 2,
        dropout: 0,
        rng: new Random(INIT_SEED),
      }),
    inputs: data.inputs,
    loss: (m, [X, XValidLen, decX, Y]) =>
      sum(maskedSoftmaxCELoss((m as Model).forward(X, decX, XValidLen), Y, data.tgt.lens)),
    ...translationTraining,
    peer(tf): PeerStep {
      const [X, XValidLen, decX, Y] = data.tfInputs(tf);
      return {
        loss: (p) => data.tfLoss(tf, tfSeq2SeqLogits(tf, p, X, XValidLen, decX, 2), Y),
        dispose: () => [X, XValidLen, decX, Y].forEach((t) => t.dispose()),
      };
    },
  };
}

/** d2l 0.17 §10.7's Transformer (2 blocks, 4 heads, FFN 2d) with width d = `hidden`. */
export function transformerStep(s: TranslationSize): StepSpec<Module> {
  const data = translationBatch(s);
  const shape = { numHiddens: s.hidden, numHeads: 4, numBlks: 2 };
  return {
    name: 'transformer',
    size: `${s.batch}x${s.numSteps}x${s.hidden}`,
    params: { ...translationParams(s), ...shape, ffnNumHiddens: 2 * s.hidden },
    quick: s.quick,
    build: () =>
      buildTransformer(
        { ...shape, dropout: 0, ffnNumHiddens: 2 * s.hidden },
        SRC_VOCAB,
        TGT_VOCAB,
        new Random(INIT_SEED),
      ),
    inputs: data.inputs,
    loss: (m, [X, XValidLen, decX, Y]) =>
      sum(maskedSoftmaxCELoss((m as Transformer).forward(X, decX, XValidLen), Y, data.tgt.lens)),
    ...translationTraining,
    peer(tf): PeerStep {
      const [X, XValidLen, decX, Y] = data.tfInputs(tf);
      const lens = tfTransformerLens(tf, data.src.lens, s.numSteps, shape.numHeads);
      const P = tf.tensor2d(positionalEncodingMatrix(s.numSteps, s.hidden), [s.numSteps, s.hidden]);
      return {
        loss: (p) => data.tfLoss(tf, tfTransformerLogits(tf, p, P, X, decX, lens, shape), Y),
        dispose: () => [X, XValidLen, decX, Y, lens.enc, lens.causal, P].forEach((t) => t.dispose()),
      };
    },
  };
}

/** d2l §10.2.4: 50 training points, leave-one-out keys, Σ (ŷ − y)², SGD lr 0.5, full batch. */
export function nwStep(): StepSpec<Module> {
  const d = nwData(new Random(0));
  const n = d.xTrain.length;
  const { keys, values } = nwKeysValues(d.xTrain, d.yTrain);
  const arrays: [Float32Array, number[]][] = [
    [d.xTrain, [n]],
    [keys, [n, n - 1]],
    [values, [n, n - 1]],
    [d.yTrain, [n]],
  ];
  return {
    name: 'nadaraya-watson',
    size: `${n}`,
    params: { size: n, n, optimizer: 'sgd lr 0.5' },
    quick: true,
    build: () => new NWKernelRegression(new Random(INIT_SEED)),
    inputs: (e) => arrays.map(([v, shape]) => e.fromArray(v, shape)),
    loss: (m, [x, k, v, y]) => sum(square(sub((m as NWKernelRegression).forward(x, k, v), y))),
    optimizer: (params) => new SGD(params, { lr: 0.5 }),
    tfOptimizer: (tf) => tf.train.sgd(0.5),
    peer(tf): PeerStep {
      const [x, k, v, y] = arrays.map(([a, shape]) => tf.tensor(a, shape));
      return {
        loss: (p) => tfNwLoss(tf, p, x, k, v, y),
        dispose: () => [x, k, v, y].forEach((t) => t.dispose()),
      };
    },
  };
}

/** The masked-token MLP or its attention variant: mean CE, Adam lr 1e-3 with L2 1e-4, batches of 10. */
export function clsStep(kind: 'mlp' | 'attention', batch = 10): StepSpec<Module> {
  const data = maskedTokenData();
  const width = data.inputs.length / data.labels.length;
  const ids = data.inputs.subarray(0, batch * width);
  const labels = data.labels.subarray(0, batch);
  const clsMask = ids.map((v) => (v === CLS_ID ? 1 : 0));
  const shape = [batch, width];
  const numHeads = 4;
  const numHiddens = 32;
  return {
    name: kind === 'mlp' ? 'cls-mlp' : 'cls-attention',
    size: `${batch}`,
    params: {
      size: batch,
      batch,
      window: width,
      classes: NUM_CLASSES,
      optimizer: 'adam lr 1e-3, weight decay 1e-4',
    },
    quick: true,
    build: () =>
      kind === 'mlp'
        ? clsMlp(new Random(INIT_SEED))
        : new ClsAttention({ numHiddens, numHeads, rng: new Random(INIT_SEED) }),
    inputs: (e) => [
      e.fromArray(ids, shape),
      e.fromArray(ids, shape, 'int32'),
      e.fromArray(clsMask, shape),
      e.fromArray(labels, [batch], 'int32'),
    ],
    loss: (m, [x, tokens, mask, y]) =>
      crossEntropy(
        kind === 'mlp' ? (m as Sequential).forward(x) : (m as ClsAttention).forward(tokens, mask),
        y,
      ),
    optimizer: (params) => new Adam(params, { lr: 1e-3, weightDecay: 1e-4 }),
    tfOptimizer: (tf) => tf.train.adam(1e-3, 0.9, 0.999, 1e-8),
    weightDecay: 1e-4,
    peer(tf): PeerStep {
      const x = tf.tensor2d(ids, [batch, width]);
      const tokens = tf.tensor2d(Int32Array.from(ids), [batch, width], 'int32');
      const mask = tf.tensor2d(clsMask, [batch, width]);
      const y = tf.tensor1d(labels, 'int32');
      const P = tf.tensor2d(positionalEncodingMatrix(width, numHiddens), [width, numHiddens]);
      const logits = (p: Parameters<PeerStep['loss']>[0]) =>
        kind === 'mlp' ? tfClsMlpLogits(tf, p, x) : tfClsAttentionLogits(tf, p, P, tokens, mask, numHeads);
      return {
        loss: (p) => tfCrossEntropy(tf, logits(p), y),
        dispose: () => [x, tokens, mask, y, P].forEach((t) => t.dispose()),
      };
    },
    ...(kind === 'attention'
      ? {
          jax(jax): JaxPeerStep {
            const inputs = [
              jaxArray(jax, Int32Array.from(ids), shape),
              jaxArray(jax, clsMask, shape),
              jaxArray(jax, positionalEncodingMatrix(width, numHiddens), [width, numHiddens]),
              jaxArray(jax, labels, [batch]),
            ];
            return {
              inputs,
              loss: (p, xs) => jaxClsAttentionLoss(jax, p, xs, numHeads),
              optimizer: { kind: 'adam', lr: 1e-3 },
              dispose: () => inputs.forEach((a) => a.dispose()),
            };
          },
        }
      : {}),
  };
}
