/** The package's `browser` entry: the public API, with no Node-only module (file system, plots, Dawn). */
export * from './index.js';
export { indexedDbStore } from './train/checkpoint_store_browser.js';
export {
  saveCheckpointToIndexedDb,
  loadCheckpointFromIndexedDb,
  loadModelFromIndexedDb,
  deleteCheckpointFromIndexedDb,
  checkpointToFiles,
  checkpointFromFiles,
  loadModelFromFiles,
  type IndexedDbCheckpointOptions,
} from './train/checkpoint_browser.js';
// Training in a Web Worker: the page's client, the worker's side, and the loop they share (src/worker/).
export {
  createTrainingWorker,
  type TrainingWorker,
  type TrainOptions,
  type TrainingWorkerOptions,
} from './worker/client.js';
export {
  exposeTrainer,
  type ExposeOptions,
  type ProgressListener,
  type WorkerTrainer,
} from './worker/expose.js';
export {
  runTraining,
  weightsOf,
  type TrainingSession,
  type TrainingJob,
  type StepLoss,
  type StepReport,
  type EpochReport,
  type TrainingResult,
  type RunHandlers,
  type Heatmap,
} from './worker/session.js';
