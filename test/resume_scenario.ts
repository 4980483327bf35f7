/**
 * The device-loss-and-resume scenario of test/resume.test.ts, written once for Node and the browser page
 * (test/pages/resume/): a small Transformer trains on real fra-eng pairs three times — uninterrupted; with a
 * checkpoint every 4 steps and the GPU device destroyed at step 11 (epoch 2 of 6 batches each); resumed on a new engine from the checkpoint —
 * and the resumed run must end at the uninterrupted run's losses.
 */
import { tokenizeNmt } from '../src/data/fra_eng.js';
import { nmtData } from '../src/data/translation_arrays.js';
import { buildTransformer } from '../src/models/transformer.js';
import { manualSeed } from '../src/runtime/random.js';
import type { Engine } from '../src/runtime/engine.js';
import { DeviceLostError } from '../src/runtime/errors.js';
import { setEngine } from '../src/runtime/global.js';
import type { CheckpointStore } from '../src/train/checkpoint_store.js';
import { trainSeq2Seq, type TrainSeq2SeqOptions } from '../src/train/trainer.js';

export interface ResumeOutcome {
  reference: number[];
  resumed: number[];
  /** What the interrupted run rejected with. */
  error: { name: string; reason?: string; message: string };
  /** What an op on the lost engine threw afterwards. */
  laterOp: { name: string; message: string };
  /** The step the resumed run started after, from its first onStep report. */
  resumedFrom: number;
  /** Live tensors left on the resumed engine after its model was disposed. */
  leftoverTensors: number;
}

export const DESTROY_AT_STEP = 11;
export const EVERY_STEPS = 4;

/**
 * @param text fra.txt's text (at least its first 97 lines). @param newEngine makes a fresh WebGPU engine.
 * @param store an empty checkpoint store.
 */
export async function resumeScenario(
  text: string,
  newEngine: () => Promise<Engine>,
  store: CheckpointStore,
): Promise<ResumeOutcome> {
  const pairs = tokenizeNmt(text, { numExamples: 96 });
  const config = { numHiddens: 32, numBlks: 1, dropout: 0, ffnNumHiddens: 64, numHeads: 4 };
  const options: TrainSeq2SeqOptions = { epochs: 3, lr: 0.005, seed: 3 };
  // Each run gets its own data, as a new process would: the shuffle stream starts from the seed.
  const start = async () => {
    const e = await newEngine();
    setEngine(e);
    const data = nmtData(pairs, { batchSize: 16, numSteps: 8 });
    manualSeed(7);
    const model = buildTransformer(config, data.srcVocab.size, data.tgtVocab.size);
    return { e, data, model };
  };

  const a = await start();
  const reference = (await trainSeq2Seq(a.model, a.data, options)).losses;
  a.model.dispose();
  a.e.destroy();

  const b = await start();
  let error: ResumeOutcome['error'] | null = null;
  try {
    await trainSeq2Seq(b.model, b.data, {
      ...options,
      checkpoint: { store, everySteps: EVERY_STEPS },
      onStep: ({ step }) => {
        if (step === DESTROY_AT_STEP) b.e.device.destroy();
      },
    });
  } catch (err) {
    const x = err as Error;
    error = { name: x.name, reason: x instanceof DeviceLostError ? x.reason : undefined, message: x.message };
  }
  if (!error) throw new Error('the run on the destroyed device finished without an error');
  let laterOp: ResumeOutcome['laterOp'] = { name: 'none', message: 'no error' };
  try {
    b.e.fromArray([1, 2], [2]);
  } catch (err) {
    laterOp = { name: (err as Error).name, message: (err as Error).message };
  }

  const c = await start();
  let resumedFrom = -1;
  const resumed = (
    await trainSeq2Seq(c.model, c.data, {
      ...options,
      checkpoint: { store, everySteps: EVERY_STEPS },
      resume: true,
      onStep: ({ step }) => {
        if (resumedFrom < 0) resumedFrom = step - 1;
      },
    })
  ).losses;
  c.model.dispose();
  const leftoverTensors = c.e.memoryStats().tensors;
  c.e.destroy();
  setEngine(null);
  return { reference, resumed, error, laterOp, resumedFrom, leftoverTensors };
}
