/**
 * d2l's `train_seq2seq` (d2l 0.17 §9.7.4 "Training"; §10.7 in the newer edition) for any {@link EncoderDecoder}:
 * Adam, teacher forcing, the masked cross-entropy summed over the batch, gradient clipping at norm 1. The loss sum
 * is accumulated on the device and read back once per epoch, so no step waits for the GPU.
 */
import { checkFinite } from '../experiments/diverged.js';
import type { NmtBatch, NmtData } from '../data/translation_arrays.js';
import type { Vocab } from '../data/vocab.js';
import type { EncoderDecoder } from '../models/encoder_decoder.js';
import { manualSeed } from '../nn/init.js';
import { add } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { backward } from '../runtime/autograd.js';
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../runtime/tensor.js';
import { maskedSoftmaxCELoss } from './loss.js';

export interface TrainSeq2SeqOptions {
  /** Adam's learning rate (default 0.005, d2l's). */
  lr?: number;
  epochs: number;
  /** Max global gradient norm (default 1, d2l's `grad_clipping(net, 1)`). */
  gradClip?: number;
  /** When given, reseeds the default generator first, so the dropout masks of the run are reproducible. */
  seed?: number;
  /** Target vocabulary, for `<bos>` (default `data.tgtVocab`). */
  tgtVocab?: Vocab;
  /** Name in divergence errors (default 'seq2seq'). */
  name?: string;
  /** Called after each epoch with the loss per valid token and the epoch's valid target tokens per second. */
  onEpoch?: (epoch: number, loss: number, tokensPerSecond: number) => void;
}

export interface TrainSeq2SeqResult {
  /** Per epoch: summed masked CE / number of valid target tokens (what d2l prints and plots). */
  losses: number[];
  /** Per epoch: valid target tokens / wall seconds of the epoch (readback included). */
  epochTokensPerSecond: number[];
  /** Over the whole run: valid target tokens / training seconds. */
  tokensPerSecond: number;
  seconds: number;
}

/**
 * The decoder input of teacher forcing, d2l's `torch.cat([bos, Y[:, :-1]], 1)`: `<bos>` then the target shifted
 * right by one. Computed on the CPU, where the batch lives.
 * @param Y (B, T) int32 target ids. @returns (B, T) int32.
 */
export function teacherForcingInput(Y: Int32Array, batch: number, numSteps: number, bos: number): Int32Array {
  const out = new Int32Array(batch * numSteps);
  for (let b = 0; b < batch; b++) {
    out[b * numSteps] = bos;
    out.set(Y.subarray(b * numSteps, (b + 1) * numSteps - 1), b * numSteps + 1);
  }
  return out;
}

/** The batch's int32 tensors: source, source lengths, decoder input, target. */
function upload(e: Engine, batch: NmtBatch, numSteps: number, bos: number): Tensor[] {
  const b = batch.size;
  return [
    e.fromArray(batch.X, [b, numSteps], 'int32'),
    e.fromArray(batch.XValidLen, [b], 'int32'),
    e.fromArray(teacherForcingInput(batch.Y, b, numSteps, bos), [b, numSteps], 'int32'),
    e.fromArray(batch.Y, [b, numSteps], 'int32'),
  ];
}

/**
 * Trains `model` in place on `data`'s shuffled batches, as d2l's `train_seq2seq(net, data_iter, lr, num_epochs,
 * tgt_vocab, device)`: per batch, logits = model(X, [<bos>, Y[:, :-1]], XValidLen), loss =
 * maskedSoftmaxCELoss(logits, Y, YValidLen).sum(), backward, clipGradNorm(params, gradClip), Adam step.
 * @returns the per-epoch losses (per valid token) and throughput. The model is left in training mode.
 * @throws DivergenceError (src/experiments/diverged.ts) when an epoch's loss is not finite.
 */
export async function trainSeq2Seq<Out, State>(
  model: EncoderDecoder<Out, State>,
  data: NmtData,
  {
    lr = 0.005,
    epochs,
    gradClip = 1,
    seed,
    tgtVocab = data.tgtVocab,
    name = 'seq2seq',
    onEpoch,
  }: TrainSeq2SeqOptions,
): Promise<TrainSeq2SeqResult> {
  if (seed !== undefined) manualSeed(seed);
  const params = model.parameters();
  const e = params[0].engine;
  const bos = tgtVocab.index('<bos>');
  const opt = new Adam(params, { lr });
  const losses: number[] = [];
  const epochTokensPerSecond: number[] = [];
  let totalTokens = 0;
  const start = performance.now();
  model.train();
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const epochStart = performance.now();
      let lossSum: Tensor | null = null;
      let tokens = 0;
      for (const batch of data.batches()) {
        const inputs = upload(e, batch, data.numSteps, bos);
        const [X, XValidLen, decX, Y] = inputs;
        const next: Tensor = e.tidy(() => {
          opt.zeroGrad();
          const logits = model.forward(X, decX, XValidLen);
          const l = sum(maskedSoftmaxCELoss(logits, Y, batch.YValidLen));
          backward(l);
          clipGradNorm(params, gradClip).dispose();
          opt.step();
          return e.noGrad(() => (lossSum ? add(lossSum, l) : l));
        });
        lossSum?.dispose();
        lossSum = next.keep();
        for (const t of inputs) t.dispose();
        for (const n of batch.YValidLen) tokens += n;
      }
      if (!lossSum) throw new Error(`${name}: the data has no batches`);
      const loss = (await lossSum.item()) / tokens;
      lossSum.dispose();
      checkFinite(name, epoch, loss);
      const tps = tokens / ((performance.now() - epochStart) / 1000);
      losses.push(loss);
      epochTokensPerSecond.push(tps);
      totalTokens += tokens;
      onEpoch?.(epoch, loss, tps);
    }
  } finally {
    opt.zeroGrad();
    opt.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  return { losses, epochTokensPerSecond, tokensPerSecond: totalTokens / seconds, seconds };
}
