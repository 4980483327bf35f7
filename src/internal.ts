/**
 * The repository's internal entry: what the demo's kernel and gradient pages and the benchmarks need beyond the
 * public API (src/index.ts, src/browser.ts): the op registry and the tape's `apply`, the gradient check, composed
 * reference ops, data constants. Not part of the package (no `exports` entry points here). eslint.config.js lets
 * demo/ and bench/ reach src/ only through the package entries and this file.
 */
export {
  apply,
  runReference,
  type AnyOpDef,
  type CpuTensor,
  type InputSpec,
  type OpCase,
} from './runtime/op.js';
export { formatShape, numel } from './runtime/tensor.js';
export { finiteDifference } from './runtime/gradcheck.js';
export { awaitGpu } from './runtime/gpu_wait.js';
export { registry } from './ops/registry.js';
export { additiveScoreComposed } from './ops/additive_score.js';
export { maskedSoftmaxOp } from './ops/masked_softmax.js';
export type { Optimizer } from './optim/optimizer.js';
export { D2L_TRANSFORMER_CONFIG } from './models/transformer.js';
export { sequenceMask } from './train/loss.js';
export { teacherForcingInput } from './train/trainer.js';
export { transformerAttentionHeatmaps } from './experiments/transformer_heatmaps.js';
export { batches } from './data/batches.js';
export { CLS_ID, NUM_CLASSES, SEED_STRING } from './data/masked_tokens.js';
export type { NmtData } from './data/translation_arrays.js';
