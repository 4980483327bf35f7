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
