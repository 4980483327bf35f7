/**
 * d2l's `train_seq2seq` (d2l 0.17 §9.7.4 "Training"; §10.7 in the newer edition) for any {@link EncoderDecoder}:
 * Adam, teacher forcing, the masked cross-entropy summed over the batch, gradient clipping at norm 1. The loss sum
 * is accumulated on the device and read back once per epoch, so no step waits for the GPU. Optionally, the same
 * loss on a held-out split after every epoch (not in d2l, which trains on 600 pairs and evaluates four sentences).
 */
import { checkFinite } from './diverged.js';
import type { NmtBatch, NmtData, NmtSplit } from '../data/translation_arrays.js';
import type { Vocab } from '../data/vocab.js';
import type { EncoderDecoder } from '../models/encoder_decoder.js';
import { defaultGenerator, manualSeed } from '../runtime/random.js';
import { add } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { backward } from '../ops/autograd.js';
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../runtime/tensor.js';
import { maskedSoftmaxCELoss } from './loss.js';
import { TrainingRun, type RunOptions } from './training_run.js';

export interface TrainSeq2SeqOptions extends RunOptions {
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
  /**
   * Held-out pairs (e.g. `data.validation`): after every epoch, their loss per valid token in eval mode, without
   * autograd ({@link evaluateLoss}). Its time is left out of the throughput.
   */
  validation?: NmtSplit;
  /**
   * Called after each epoch with the loss per valid token, the epoch's valid target tokens per second and, with
   * `validation`, the validation loss.
   */
  onEpoch?: (epoch: number, loss: number, tokensPerSecond: number, validationLoss?: number) => void;
}

/** What a training checkpoint of trainSeq2Seq records besides the tensors (see ./training_run.ts). */
interface Seq2SeqProgress {
  losses: number[];
  validationLosses: number[];
  epochTokensPerSecond: number[];
  totalTokens: number;
  trainSeconds: number;
  /** The current epoch's loss sum so far (float32, as the device held it), its tokens and seconds. */
  lossSum: number | null;
  tokens: number;
  epochSeconds: number;
}

export interface TrainSeq2SeqResult {
  /** Per epoch: summed masked CE / number of valid target tokens (what d2l prints and plots). */
  losses: number[];
  /** Per epoch, with `validation`: the held-out loss per valid token after the epoch's updates. */
  validationLosses?: number[];
  /** Per epoch: valid target tokens / wall seconds of the epoch's training (readback included). */
  epochTokensPerSecond: number[];
  /** Over the whole run: valid target tokens / training seconds (validation excluded). */
  tokensPerSecond: number;
  /** Wall seconds of the whole run, validation included. */
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
 * The masked cross-entropy per valid target token of `split` under teacher forcing, the quantity the training loss
 * reports, in eval mode (no dropout) and without autograd; the sum stays on the device and is read back once. The
 * weights are untouched and the model is switched back to its previous mode.
 * @param split batches of (B, T) int32 arrays, T = numSteps. @param bos the target vocabulary's `<bos>` id.
 * @throws Error when the split has no batches.
 */
export async function evaluateLoss<Out, State>(
  model: EncoderDecoder<Out, State>,
  split: NmtSplit,
  bos: number,
  numSteps: number,
): Promise<number> {
  const e = model.parameters()[0].engine;
  const wasTraining = model.training;
  model.eval();
  let lossSum: Tensor | null = null;
  let tokens = 0;
  try {
    for (const batch of split.batches()) {
      const inputs = upload(e, batch, numSteps, bos);
      const [X, XValidLen, decX, Y] = inputs;
      const next: Tensor = e.tidy(() =>
        e.noGrad(() => {
          const l = sum(maskedSoftmaxCELoss(model.forward(X, decX, XValidLen), Y, batch.YValidLen));
          return lossSum ? add(lossSum, l) : l;
        }),
      );
      lossSum?.dispose();
      lossSum = next.keep();
      for (const t of inputs) t.dispose();
      for (const n of batch.YValidLen) tokens += n;
    }
    if (!lossSum) throw new Error('evaluateLoss: the split has no batches');
    return (await lossSum.item()) / tokens;
  } finally {
    (lossSum as Tensor | null)?.dispose();
    model.train(wasTraining);
  }
}

/**
 * Trains `model` in place on `data`'s shuffled batches, as d2l's `train_seq2seq(net, data_iter, lr, num_epochs,
 * tgt_vocab, device)`: per batch, logits = model(X, [<bos>, Y[:, :-1]], XValidLen), loss =
 * maskedSoftmaxCELoss(logits, Y, YValidLen).sum(), backward, clipGradNorm(params, gradClip), Adam step.
 * With `checkpoint`, saves the weights, Adam's moments and step, the shuffle and dropout streams and the position
 * every N steps; with `resume`, continues from there (on a new engine after a `DeviceLostError`, say) and ends
 * where an uninterrupted run would.
 * @returns the per-epoch losses (per valid token; with `validation`, the held-out ones too) and throughput. The
 *   model is left in training mode.
 * @throws DivergenceError (src/train/diverged.ts) when an epoch's training or validation loss is not finite;
 *   DeviceLostError when the engine's device is lost or destroyed meanwhile; the signal's reason when `signal`
 *   aborts; CheckpointError for a `resume` checkpoint that does not fit the model.
 */
export async function trainSeq2Seq<Out, State>(
  model: EncoderDecoder<Out, State>,
  data: NmtData,
  options: TrainSeq2SeqOptions,
): Promise<TrainSeq2SeqResult> {
  const {
    lr = 0.005,
    epochs,
    gradClip = 1,
    seed,
    tgtVocab = data.tgtVocab,
    name = 'seq2seq',
    validation,
    onEpoch,
  } = options;
  if (seed !== undefined) manualSeed(seed);
  const params = model.parameters();
  const e = params[0].engine;
  const bos = tgtVocab.index('<bos>');
  const opt = new Adam(params, { lr });
  const start = performance.now();
  model.train();
  let lossSum: Tensor | null = null;
  try {
    const run = await TrainingRun.open<Seq2SeqProgress>(
      'trainSeq2Seq',
      model,
      opt,
      { data: data.shuffleRng ?? undefined, dropout: defaultGenerator() },
      options,
    );
    const p: Seq2SeqProgress = run.resumed ?? {
      losses: [],
      validationLosses: [],
      epochTokensPerSecond: [],
      totalTokens: 0,
      trainSeconds: 0,
      lossSum: null,
      tokens: 0,
      epochSeconds: 0,
    };
    let epochStart = performance.now() - p.epochSeconds * 1000;
    if (p.lossSum !== null) lossSum = e.fromArray([p.lossSum], []);
    const progress = async (): Promise<Seq2SeqProgress> => ({
      ...p,
      lossSum: lossSum ? await lossSum.item() : null,
      epochSeconds: (performance.now() - epochStart) / 1000,
    });
    for (let epoch = run.epoch; epoch <= epochs; epoch++) {
      run.beginEpoch(epoch);
      let skip = 0;
      const toSkip = run.skip();
      for (const batch of data.batches()) {
        if (skip++ < toSkip) continue;
        run.checkSignal();
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
        for (const n of batch.YValidLen) p.tokens += n;
        await run.afterStep(progress);
      }
      if (!lossSum) throw new Error(`${name}: the data has no batches`);
      const loss = (await lossSum.item()) / p.tokens;
      lossSum.dispose();
      lossSum = null;
      checkFinite(name, epoch, loss);
      const epochSeconds = (performance.now() - epochStart) / 1000;
      const tps = p.tokens / epochSeconds;
      p.losses.push(loss);
      p.epochTokensPerSecond.push(tps);
      p.totalTokens += p.tokens;
      p.trainSeconds += epochSeconds;
      p.tokens = 0;
      let validationLoss: number | undefined;
      if (validation) {
        validationLoss = await evaluateLoss(model, validation, bos, data.numSteps);
        checkFinite(`${name} (validation)`, epoch, validationLoss);
        p.validationLosses.push(validationLoss);
      }
      onEpoch?.(epoch, loss, tps, validationLoss);
      run.endEpoch();
      epochStart = performance.now();
    }
    await run.save(progress);
    const seconds = (performance.now() - start) / 1000;
    return {
      losses: p.losses,
      ...(validation ? { validationLosses: p.validationLosses } : {}),
      epochTokensPerSecond: p.epochTokensPerSecond,
      tokensPerSecond: p.totalTokens / p.trainSeconds,
      seconds,
    };
  } finally {
    (lossSum as Tensor | null)?.dispose();
    opt.zeroGrad();
    opt.dispose();
  }
}
