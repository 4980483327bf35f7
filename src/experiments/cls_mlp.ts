/**
 * Trains a masked-token model — the seed's MLP, the one-layer self-attention ablation, or the Transformer-encoder
 * classifier — with cross-entropy, Adam (lr 1e-3, weight_decay 1e-4 as PyTorch's L2), shuffled batches of 10, 200
 * epochs. Per epoch it reports the mean batch loss and the training accuracy measured on the training-mode forward
 * passes (as d2l's `train_epoch_ch3`) and, when part of the inputs is held out, the eval-mode accuracy on those;
 * all accumulated on the device and read back once per epoch so that no step waits for the GPU.
 */
import { batches } from '../data/batches.js';
import {
  CLS_ID,
  heldOutSplit,
  maskedTokenData,
  NUM_CLASSES,
  type MaskedTokenData,
} from '../data/masked_tokens.js';
import { Random, defaultGenerator } from '../runtime/random.js';
import { ClsAttention } from '../models/cls_attention.js';
import { clsMlp } from '../models/cls_mlp.js';
import { ClsTransformer } from '../models/cls_transformer.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { add, compare, mul } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';
import { Adam } from '../optim/adam.js';
import { backward } from '../ops/autograd.js';
import type { Engine } from '../runtime/engine.js';
import { engine } from '../runtime/global.js';
import type { Tensor } from '../runtime/tensor.js';
import { checkFinite } from '../train/diverged.js';
import { TrainingRun, type RunOptions } from '../train/training_run.js';

/**
 * 'mlp': the seed's MLP on the ids as numbers; 'attention': the one-layer ablation (embedding + PE + MHA with a
 * residual + dense); 'transformer': `ClsTransformer`, d2l's Transformer encoder read out at the cls position.
 */
export type ClsModelName = 'mlp' | 'attention' | 'transformer';

/** The summary's and the progress lines' name of each model. */
export const CLS_MODEL_KEYS: Record<ClsModelName, string> = {
  mlp: 'cls_mlp',
  attention: 'cls_attention',
  transformer: 'cls_transformer',
};

export interface ClsMlpOptions extends RunOptions {
  model?: ClsModelName;
  seed?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  /**
   * Share of the distinct inputs held out of training (default 0: train on all). The split depends on the seed
   * only, so every model sees the same one for one seed.
   */
  heldOut?: number;
  /** Stop once the epoch's training accuracy reaches this (default: never stop early). */
  stopAtAccuracy?: number;
  /** `heldOutAccuracy` is NaN when nothing is held out. */
  onEpoch?: (epoch: number, loss: number, accuracy: number, heldOutAccuracy: number) => void;
  /** Called with the trained model (in eval mode) before it is freed, e.g. to draw its attention. */
  inspect?: (net: Module) => Promise<void>;
}

export interface ClsMlpResult {
  losses: number[];
  accuracies: number[];
  finalLoss: number;
  accuracy: number;
  /** Per epoch, the accuracy on the held-out inputs; empty when nothing is held out. */
  heldOutAccuracies: number[];
  /** The last epoch's held-out accuracy; NaN when nothing is held out. */
  heldOutAccuracy: number;
  /** Training samples and held-out inputs. */
  trainSize: number;
  heldOutSize: number;
  epochs: number;
  seconds: number;
}

interface Batch {
  /** (B, 10) float32 ids as plain numbers, the MLP's input. */
  x: Tensor;
  /** (B, 10) int32 ids and (B, 10) float32 one-hot of the cls position, the attention models' input. */
  tokens: Tensor;
  clsMask: Tensor;
  /** (B) int32 labels and their (B, 26) one-hot rows. */
  y: Tensor;
  onehot: Tensor;
}

function upload(e: Engine, data: MaskedTokenData, idx: number[]): Batch {
  const width = data.inputs.length / data.labels.length;
  const ids = idx.flatMap((i) => Array.from(data.inputs.subarray(i * width, (i + 1) * width)));
  return {
    x: e.fromArray(ids, [idx.length, width]),
    tokens: e.fromArray(ids, [idx.length, width], 'int32'),
    clsMask: e.fromArray(
      ids.map((v) => (v === CLS_ID ? 1 : 0)),
      [idx.length, width],
    ),
    y: e.fromArray(
      idx.map((i) => data.labels[i]),
      [idx.length],
      'int32',
    ),
    onehot: e.fromArray(
      idx.flatMap((i) => Array.from({ length: NUM_CLASSES }, (_, c) => (c === data.labels[i] ? 1 : 0))),
      [idx.length, NUM_CLASSES],
    ),
  };
}

const freeBatch = (b: Batch) => Object.values(b).forEach((t: Tensor) => t.dispose());

/** [] number of rows whose label's logit is the row maximum. */
function correctCount(logits: Tensor, onehot: Tensor): Tensor {
  return sum(compare('ge', sum(mul(logits, onehot), 1), max(logits, 1)));
}

function build(kind: ClsModelName, rng: Random): { net: Module; logits: (b: Batch) => Tensor } {
  if (kind === 'mlp') {
    const net = clsMlp(rng);
    return { net, logits: (b) => net.forward(b.x) };
  }
  const net = kind === 'attention' ? new ClsAttention({ rng }) : new ClsTransformer({ rng });
  return { net, logits: (b) => net.forward(b.tokens, b.clsMask) };
}

/** The split's own stream: seeded by the run's seed, jumped past the draws that initialise the model. */
function splitGenerator(seed: number): Random {
  const rng = new Random(seed);
  rng.fork();
  return rng;
}

/** What a training checkpoint of trainClsMlp records besides the tensors (see src/train/training_run.ts). */
interface ClsProgress {
  losses: number[];
  accuracies: number[];
  heldOutAccuracies: number[];
  /** The current epoch's sums so far (float32, as the device held them) and its batch count. */
  lossSum: number | null;
  correctSum: number | null;
  count: number;
}

/**
 * Trains one masked-token model (see the file's comment). With `checkpoint`, saves the weights, Adam's state, the
 * shuffle stream and the position every N steps; with `resume`, continues from there on a fresh model built with
 * the same options and ends where an uninterrupted run would.
 * @throws DivergenceError for a non-finite epoch loss; DeviceLostError when the device is lost or destroyed
 *   meanwhile; the signal's reason when `signal` aborts; CheckpointError for a `resume` checkpoint that does not fit.
 */
export async function trainClsMlp(options: ClsMlpOptions = {}): Promise<ClsMlpResult> {
  const {
    model = 'mlp',
    seed = 0,
    epochs = 200,
    batchSize = 10,
    lr = 1e-3,
    weightDecay = 1e-4,
    heldOut = 0,
    stopAtAccuracy = Infinity,
    onEpoch,
    inspect,
  } = options;
  const e = engine();
  const start = performance.now();
  const rng = new Random(seed);
  const data = maskedTokenData();
  const split =
    heldOut > 0
      ? heldOutSplit(data, heldOut, splitGenerator(seed))
      : { train: Array.from(data.labels, (_, i) => i), heldOut: [] };
  const n = split.train.length;
  const { net, logits: forward } = build(model, rng);
  const opt = new Adam(net.parameters(), { lr, weightDecay });
  const shuffle = rng.fork();
  const test = split.heldOut.length > 0 ? upload(e, data, split.heldOut) : null;
  let lossSum: Tensor | null = null;
  let correctSum: Tensor | null = null;
  try {
    const run = await TrainingRun.open<ClsProgress>(
      CLS_MODEL_KEYS[model],
      net,
      opt,
      { data: shuffle, dropout: defaultGenerator() },
      options,
    );
    const p: ClsProgress = run.resumed ?? {
      losses: [],
      accuracies: [],
      heldOutAccuracies: [],
      lossSum: null,
      correctSum: null,
      count: 0,
    };
    const { losses, accuracies, heldOutAccuracies } = p;
    if (p.lossSum !== null) lossSum = e.fromArray([p.lossSum], []);
    if (p.correctSum !== null) correctSum = e.fromArray([p.correctSum], []);
    const progress = async (): Promise<ClsProgress> => ({
      ...p,
      lossSum: lossSum ? await lossSum.item() : null,
      correctSum: correctSum ? await correctSum.item() : null,
    });
    const done = () => accuracies.length > 0 && accuracies.at(-1)! >= stopAtAccuracy;
    for (let epoch = run.epoch; epoch <= epochs && !done(); epoch++) {
      run.beginEpoch(epoch);
      const toSkip = run.skip();
      let skip = 0;
      for (const order of batches(n, batchSize, shuffle)) {
        if (skip++ < toSkip) continue;
        run.checkSignal();
        const batch = upload(
          e,
          data,
          order.map((i) => split.train[i]),
        );
        const next = e.tidy(() => {
          opt.zeroGrad();
          const logits = forward(batch);
          const loss = crossEntropy(logits, batch.y);
          backward(loss);
          opt.step();
          return e.noGrad(() => {
            const correct = correctCount(logits, batch.onehot);
            return [lossSum ? add(lossSum, loss) : loss, correctSum ? add(correctSum, correct) : correct];
          });
        });
        lossSum?.dispose();
        correctSum?.dispose();
        [lossSum, correctSum] = next;
        freeBatch(batch);
        p.count++;
        await run.afterStep(progress);
      }
      const testCorrect = test && evaluate(e, net, () => correctCount(forward(test), test.onehot));
      const loss = (await lossSum!.item()) / p.count;
      const accuracy = (await correctSum!.item()) / n;
      const testAccuracy = testCorrect ? (await testCorrect.item()) / split.heldOut.length : NaN;
      for (const t of [lossSum!, correctSum!, testCorrect]) t?.dispose();
      [lossSum, correctSum, p.count] = [null, null, 0];
      checkFinite(CLS_MODEL_KEYS[model], epoch, loss);
      losses.push(loss);
      accuracies.push(accuracy);
      if (test) heldOutAccuracies.push(testAccuracy);
      onEpoch?.(epoch, loss, accuracy, testAccuracy);
      run.endEpoch();
    }
    await run.save(progress);
    if (inspect) {
      net.eval();
      await inspect(net);
    }
    return {
      losses,
      accuracies,
      finalLoss: losses.at(-1)!,
      accuracy: accuracies.at(-1)!,
      heldOutAccuracies,
      heldOutAccuracy: heldOutAccuracies.at(-1) ?? NaN,
      trainSize: n,
      heldOutSize: split.heldOut.length,
      epochs: losses.length,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    (lossSum as Tensor | null)?.dispose();
    (correctSum as Tensor | null)?.dispose();
    if (test) freeBatch(test);
    opt.dispose();
    net.dispose();
  }
}

/** Runs `f` in eval mode without the tape (BatchNorm uses its running statistics) and returns its tensor. */
function evaluate(e: Engine, net: Module, f: () => Tensor): Tensor {
  net.eval();
  try {
    return e.tidy(() => e.noGrad(f));
  } finally {
    net.train();
  }
}
