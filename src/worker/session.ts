/**
 * The training loop that a worker runs (src/worker/expose.ts), usable on its own in any thread: it drives a
 * {@link TrainingSession} (a model with its data and optimiser that trains one batch per step) for a number of
 * epochs, reads every step's loss back, reports each step and each epoch (loss, a note, heatmap data), stops
 * between two steps when its signal aborts, and hands the trained weights back as safetensors bytes.
 */
import type { Module } from '../nn/module.js';
import type { Tensor } from '../runtime/tensor.js';
import { decodeSafetensors, encodeSafetensors, readTensors } from '../train/safetensors.js';

/** A matrix to draw, e.g. attention weights: values[row][col] (queries × keys), with optional labels. */
export interface Heatmap {
  values: number[][];
  title?: string;
  xLabels?: string[];
  yLabels?: string[];
  xTitle?: string;
  yTitle?: string;
}

/** What one training step yields: its loss, and how many items that loss sums over. */
export interface StepLoss {
  /** A one-element tensor the loop reads back and then disposes (return it from `tidy`). */
  loss: Tensor;
  /**
   * What `loss` is a sum over (a batch's valid target tokens, for d2l's summed masked cross-entropy); 1, the
   * default, for a loss that is already a mean. The step's reported loss is loss / count, the epoch's Σ loss / Σ count.
   */
  count?: number;
}

/**
 * One model with its data and optimiser on the current engine, as the loop drives it. The loop owns it: it is
 * disposed when the run ends, however it ends.
 */
export interface TrainingSession<H = Heatmap> {
  /** The model: `net.namedTensors()` (PyTorch state_dict names) are the weights loaded at the start and sent back. */
  readonly net: Module;
  /**
   * One epoch, one batch per iteration: each `next()` trains a batch (forward, backward, optimiser step) and yields
   * its loss. A stop leaves the generator early (`return()`), so its `finally` blocks free what a step holds.
   */
  epoch(): Iterable<StepLoss>;
  /** After each epoch: a line for the log (training accuracy, a learnt width, …). */
  note?(): Promise<string> | string;
  /** After each epoch: heatmap data for the page (attention weights as nested arrays); `when` ends its title. */
  heatmap?(when: string): Promise<H>;
  /** Frees everything the session allocated. */
  dispose(): void;
}

/** What to train: the session factory reads its own fields from a job that extends this. */
export interface TrainingJob {
  /** Epochs to train, a whole number ≥ 1. */
  epochs: number;
  /** Start from these weights (safetensors bytes, as {@link TrainingResult.weights}) instead of the seeded ones. */
  weights?: Uint8Array;
}

/** After every step. */
export interface StepReport {
  /** 1-based: the epoch, the batch within it, and the step counted over the run. */
  epoch: number;
  batch: number;
  step: number;
  /** The step's loss / count (see {@link StepLoss}). */
  loss: number;
}

/** After every epoch that ran to its end. */
export interface EpochReport<H = Heatmap> {
  epoch: number;
  epochs: number;
  /** Σ loss / Σ count over the epoch's steps. */
  loss: number;
  seconds: number;
  note?: string;
  heatmap?: H;
}

export interface TrainingResult {
  /** Ran every epoch (false: stopped first). */
  finished: boolean;
  /** The loss of every epoch that ran to its end. */
  losses: number[];
  /** Every tensor of `net` (`namedTensors()`) as safetensors bytes, metadata `{ format: 'pt' }`. */
  weights: Uint8Array;
}

export interface RunHandlers<H = Heatmap> {
  /** Aborting stops the run after the step in flight; the result then has `finished: false`. */
  signal?: AbortSignal;
  onStep?: (report: StepReport) => void;
  /** Awaited before the next epoch starts. */
  onEpoch?: (report: EpochReport<H>) => Promise<void> | void;
}

/** `net`'s tensors read back from the device, as safetensors bytes. */
export async function weightsOf(net: Module): Promise<Uint8Array> {
  return encodeSafetensors(await readTensors(net), { format: 'pt' });
}

/** Loads safetensors bytes into `net`. @throws CheckpointError for bad bytes; Error naming a tensor that does not fit. */
function loadWeights(net: Module, bytes: Uint8Array): void {
  const { tensors } = decodeSafetensors(bytes, 'job.weights');
  net.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([name, { data }]) => [name, data])));
}

/** A macrotask: a message (a stop) or an abort queued meanwhile is handled before the next step. */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Trains `session` for `job.epochs` epochs (from `job.weights` when given). The session is disposed when this
 * settles.
 * @returns whether every epoch ran, their losses, and the weights at the end (also after a stop).
 * @throws RangeError for epochs that are not a whole number ≥ 1; Error when an epoch has no steps; whatever the
 *   session or a handler throws.
 */
export async function runTraining<H>(
  session: TrainingSession<H>,
  job: TrainingJob,
  { signal, onStep, onEpoch }: RunHandlers<H> = {},
): Promise<TrainingResult> {
  try {
    if (!Number.isSafeInteger(job.epochs) || job.epochs < 1)
      throw new RangeError(`runTraining: epochs must be a whole number ≥ 1, got ${job.epochs}`);
    if (job.weights) loadWeights(session.net, job.weights);
    const losses: number[] = [];
    let step = 0;
    for (let epoch = 1; epoch <= job.epochs && !signal?.aborted; epoch++) {
      const started = performance.now();
      let sum = 0;
      let count = 0;
      let batch = 0;
      for (const out of session.epoch()) {
        let value: number;
        try {
          value = await out.loss.item();
        } finally {
          out.loss.dispose();
        }
        const n = out.count ?? 1;
        sum += value;
        count += n;
        batch++;
        step++;
        onStep?.({ epoch, batch, step, loss: value / n });
        await turn();
        if (signal?.aborted) break;
      }
      if (signal?.aborted) break;
      if (batch === 0) throw new Error(`runTraining: epoch ${epoch} has no batches`);
      const loss = sum / count;
      losses.push(loss);
      const seconds = (performance.now() - started) / 1000;
      const note = await session.note?.();
      const heatmap = await session.heatmap?.(`after epoch ${epoch}`);
      await onEpoch?.({ epoch, epochs: job.epochs, loss, seconds, note, heatmap });
    }
    return { finished: losses.length === job.epochs, losses, weights: await weightsOf(session.net) };
  } finally {
    session.dispose();
  }
}
