/**
 * The package's `node` entry: the public API plus the Node-only helpers (checkpoints on disk, reading and
 * downloading the fra-eng corpus). WebGPU comes from the `webgpu` package (Dawn), which src/runtime/device.ts
 * imports at run time.
 */
export * from './index.js';
export { saveCheckpoint, loadCheckpoint, loadModel } from './train/checkpoint.js';
export { fileStore } from './train/checkpoint_store_node.js';
export { ensureFraEng, type EnsureFraEngOptions } from './data/download.js';
export { readFraEng } from './data/fra_eng_file.js';
