/**
 * The page's training worker: every live run trains here, on the worker's own WebGPU engine, so the page's main
 * thread only draws what it reports (src/worker/expose.ts). Started by the training panel with
 * `new Worker(new URL('./training_worker.ts', import.meta.url), { type: 'module' })`, which vite bundles.
 */
import { exposeTrainer, type TrainingJob } from '../src/browser.js';
import type { LiveOptions } from './live_common.js';
import { createSession, type ModelName } from './live_training.js';

/** A run of the page: the model, and its options (seed, epochs, corpus) without the weights, which travel as bytes. */
export interface DemoJob extends TrainingJob, Omit<LiveOptions, 'weights'> {
  model: ModelName;
}

exposeTrainer((job: DemoJob) => createSession(job.model, job));
