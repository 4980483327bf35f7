/**
 * What the trainers share around their loops: counting steps, stopping on an `AbortSignal`, reporting each step,
 * saving a training checkpoint every N steps and, on `resume`, continuing from the last one (weights, optimizer
 * state, random streams and the position in the data), as PyTorch users do by hand with `torch.save({model,
 * optimizer, epoch, rng_state})`.
 */
import type { Random } from '../runtime/random.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { CheckpointStore } from './checkpoint_store.js';
import {
  encodeTrainingCheckpoint,
  restoreTrainingCheckpoint,
  type TrainingState,
} from './training_checkpoint.js';

/** Where a run is, handed to `onStep` after every optimizer step. */
export interface StepInfo {
  /** Optimizer steps taken over the run (1 after the first). */
  step: number;
  /** The 1-based epoch. */
  epoch: number;
  /** Batches of this epoch trained on (1 after its first). */
  batch: number;
}

/** The options every trainer takes for checkpoints, cancelling and per-step reports. */
export interface RunOptions {
  /**
   * Saves a training checkpoint to `store` every `everySteps` optimizer steps and after the last step. Saving reads
   * the weights and the optimizer state back, so it waits for the GPU.
   */
  checkpoint?: { store: CheckpointStore; everySteps: number };
  /**
   * Continues from the checkpoint in this store (`true`: the `checkpoint` store) when it holds one, for a model
   * and data built as for the run that wrote it, e.g. after a `DeviceLostError`, on a new engine; starts afresh
   * when the store is empty. The result covers the whole run, epochs before the checkpoint included.
   */
  resume?: boolean | CheckpointStore;
  /** Cancels training: the trainer rejects with `signal.reason` (an `AbortError` by default) before its next step. */
  signal?: AbortSignal;
  /** Called after each optimizer step (without waiting for the GPU). */
  onStep?: (info: StepInfo) => void;
}

/** The random streams of a run: `data` shuffles the batches (one draw per epoch), the others are restored as is. */
export interface RunRngs {
  data?: Random;
  [name: string]: Random | undefined;
}

/**
 * One training run's bookkeeping. The trainer calls {@link TrainingRun.beginEpoch} before it draws an epoch's
 * batches, skips the first {@link TrainingRun.skip} of them, calls {@link TrainingRun.afterStep} after every
 * optimizer step and {@link TrainingRun.endEpoch} after the epoch's report; `progress` is what it records for its
 * result (plain JSON), restored on resume.
 */
export class TrainingRun<P> {
  step = 0;
  epoch = 1;
  batch = 0;
  /** Batches of the resumed epoch to skip (those the checkpoint had trained on). */
  private skipped = 0;
  private dataState: TrainingState['dataRng'];
  private constructor(
    private readonly trainer: string,
    private readonly model: Module,
    private readonly optimizer: Optimizer,
    private readonly rngs: RunRngs,
    private readonly options: RunOptions,
    /** The trainer's record from the checkpoint; undefined for a fresh run. */
    readonly resumed: P | undefined,
  ) {}

  /**
   * Checks the options and, with `resume`, loads the stored checkpoint into the model, the optimizer and the
   * random streams.
   * @throws RangeError for `everySteps` that is not a positive integer, or `resume: true` without `checkpoint`;
   *   CheckpointError (see restoreTrainingCheckpoint) for a checkpoint that does not fit; the signal's reason when
   *   it is already aborted.
   */
  static async open<P>(
    trainer: string,
    model: Module,
    optimizer: Optimizer,
    rngs: RunRngs,
    options: RunOptions,
  ): Promise<TrainingRun<P>> {
    const { checkpoint, resume, signal } = options;
    signal?.throwIfAborted();
    if (checkpoint && !(Number.isSafeInteger(checkpoint.everySteps) && checkpoint.everySteps > 0))
      throw new RangeError(
        `${trainer}: checkpoint.everySteps must be a positive integer, got ${checkpoint.everySteps}`,
      );
    if (resume === true && !checkpoint)
      throw new RangeError(`${trainer}: resume: true needs a checkpoint store (or pass the store as resume)`);
    const store = resume === true ? checkpoint!.store : resume || null;
    const bytes = store ? await store.read() : null;
    if (!bytes) return new TrainingRun<P>(trainer, model, optimizer, rngs, options, undefined);
    const state = restoreTrainingCheckpoint<P>(bytes, store!.location, trainer, model, optimizer);
    for (const [name, rng] of Object.entries(rngs))
      if (rng && name !== 'data' && state.rngs[name]) rng.setState(state.rngs[name]);
    if (rngs.data && state.dataRng) rngs.data.setState(state.dataRng);
    const run = new TrainingRun<P>(trainer, model, optimizer, rngs, options, state.progress);
    run.step = state.step;
    run.epoch = state.epoch;
    run.skipped = state.batch;
    return run;
  }

  /** Records where the data stream is before the epoch's batches are drawn from it. */
  beginEpoch(epoch: number): void {
    this.epoch = epoch;
    this.dataState = this.rngs.data?.getState();
  }

  /** How many of this epoch's batches the resumed checkpoint already trained on (0 after the first epoch). */
  skip(): number {
    const n = this.skipped;
    this.skipped = 0;
    this.batch = n;
    return n;
  }

  /** Throws the signal's reason once it is aborted. */
  checkSignal(): void {
    this.options.signal?.throwIfAborted();
  }

  /**
   * Counts a step, reports it and saves a checkpoint when one is due; `progress` gives the trainer's record as of
   * this step (it may read partial sums back).
   */
  async afterStep(progress: () => Promise<P>): Promise<void> {
    this.step++;
    this.batch++;
    this.options.onStep?.({ step: this.step, epoch: this.epoch, batch: this.batch });
    const every = this.options.checkpoint?.everySteps;
    if (every && this.step % every === 0) await this.save(progress);
  }

  /** Ends the epoch: the next checkpoint points at the next epoch's start. */
  endEpoch(): void {
    this.epoch++;
    this.batch = 0;
    this.dataState = this.rngs.data?.getState();
  }

  /** Saves a checkpoint of where the run is now (with `checkpoint` set; otherwise nothing). */
  async save(progress: () => Promise<P>): Promise<void> {
    const store = this.options.checkpoint?.store;
    if (!store) return;
    const rngs: TrainingState['rngs'] = {};
    for (const [name, rng] of Object.entries(this.rngs))
      if (rng && name !== 'data') rngs[name] = rng.getState();
    const bytes = await encodeTrainingCheckpoint(this.model, this.optimizer, {
      trainer: this.trainer,
      epoch: this.epoch,
      batch: this.batch,
      step: this.step,
      rngs,
      ...(this.dataState ? { dataRng: this.dataState } : {}),
      progress: await progress(),
    });
    await store.write(bytes);
  }
}
