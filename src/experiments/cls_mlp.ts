/**
 * Trains a masked-token model — the seed's MLP, or the self-attention model of the attention issue — with
 * cross-entropy, Adam (lr 1e-3, weight_decay 1e-4 as PyTorch's L2), shuffled batches of 10, 200 epochs. Per epoch it reports the mean batch loss and the training accuracy measured on
 * the training-mode forward passes (as d2l's `train_epoch_ch3`), accumulated on the device and read back once
 * per epoch so that no step waits for the GPU.
 */
import { batches } from '../data/batches.js';
import { CLS_ID, maskedTokenData, NUM_CLASSES } from '../data/masked_tokens.js';
import { Random } from '../data/random.js';
import { ClsAttention } from '../models/cls_attention.js';
import { clsMlp } from '../models/cls_mlp.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { add, compare, mul } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';
import { Adam } from '../optim/adam.js';
import { backward } from '../runtime/autograd.js';
import { engine } from '../runtime/global.js';
import type { Tensor } from '../runtime/tensor.js';
import { checkFinite } from './diverged.js';

export interface ClsMlpOptions {
  /** 'mlp' (default): the seed's MLP on the ids as numbers; 'attention': embedding + PE + MHA + dense. */
  model?: 'mlp' | 'attention';
  seed?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  /** Stop once the epoch's training accuracy reaches this (default: never stop early). */
  stopAtAccuracy?: number;
  onEpoch?: (epoch: number, loss: number, accuracy: number) => void;
}

export interface ClsMlpResult {
  losses: number[];
  accuracies: number[];
  finalLoss: number;
  accuracy: number;
  epochs: number;
  seconds: number;
}

interface Batch {
  /** (B, 10) float32 ids as plain numbers, the MLP's input. */
  x: Tensor;
  /** (B, 10) int32 ids and (B, 10) float32 one-hot of the cls position, the attention model's input. */
  tokens: Tensor;
  clsMask: Tensor;
}

function build(kind: 'mlp' | 'attention', rng: Random): { net: Module; logits: (b: Batch) => Tensor } {
  if (kind === 'mlp') {
    const net = clsMlp(rng);
    return { net, logits: (b) => net.forward(b.x) };
  }
  const net = new ClsAttention({ rng });
  return { net, logits: (b) => net.forward(b.tokens, b.clsMask) };
}

export async function trainClsMlp({
  model = 'mlp',
  seed = 0,
  epochs = 200,
  batchSize = 10,
  lr = 1e-3,
  weightDecay = 1e-4,
  stopAtAccuracy = Infinity,
  onEpoch,
}: ClsMlpOptions = {}): Promise<ClsMlpResult> {
  const e = engine();
  const start = performance.now();
  const rng = new Random(seed);
  const data = maskedTokenData();
  const n = data.labels.length;
  const width = data.inputs.length / n;
  const { net, logits: forward } = build(model, rng);
  const opt = new Adam(net.parameters(), { lr, weightDecay });
  const shuffle = rng.fork();
  const losses: number[] = [];
  const accuracies: number[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      let lossSum: Tensor | null = null;
      let correctSum: Tensor | null = null;
      let count = 0;
      for (const idx of batches(n, batchSize, shuffle)) {
        const ids = idx.flatMap((i) => Array.from(data.inputs.subarray(i * width, (i + 1) * width)));
        const xb = e.fromArray(ids, [idx.length, width]);
        const tokens = e.fromArray(ids, [idx.length, width], 'int32');
        const clsMask = e.fromArray(
          ids.map((v) => (v === CLS_ID ? 1 : 0)),
          [idx.length, width],
        );
        const yb = e.fromArray(
          idx.map((i) => data.labels[i]),
          [idx.length],
          'int32',
        );
        const onehot = e.fromArray(
          idx.flatMap((i) => Array.from({ length: NUM_CLASSES }, (_, c) => (c === data.labels[i] ? 1 : 0))),
          [idx.length, NUM_CLASSES],
        );
        const next = e.tidy(() => {
          opt.zeroGrad();
          const logits = forward({ x: xb, tokens, clsMask });
          const loss = crossEntropy(logits, yb);
          backward(loss);
          opt.step();
          return e.noGrad(() => {
            // A sample is right when the logit of its label is the row maximum.
            const picked = sum(mul(logits, onehot), 1);
            const correct = sum(compare('ge', picked, max(logits, 1)));
            return [lossSum ? add(lossSum, loss) : loss, correctSum ? add(correctSum, correct) : correct];
          });
        });
        lossSum?.dispose();
        correctSum?.dispose();
        [lossSum, correctSum] = next;
        for (const t of [xb, tokens, clsMask, yb, onehot]) t.dispose();
        count++;
      }
      const loss = (await lossSum!.item()) / count;
      const accuracy = (await correctSum!.item()) / n;
      lossSum!.dispose();
      correctSum!.dispose();
      checkFinite(model === 'mlp' ? 'cls_mlp' : 'cls_attention', epoch, loss);
      losses.push(loss);
      accuracies.push(accuracy);
      onEpoch?.(epoch, loss, accuracy);
      if (accuracy >= stopAtAccuracy) break;
    }
    return {
      losses,
      accuracies,
      finalLoss: losses.at(-1)!,
      accuracy: accuracies.at(-1)!,
      epochs: losses.length,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    opt.dispose();
    net.dispose();
  }
}
