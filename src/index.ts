/**
 * webgpu-attention: hand-written WGSL kernels with reverse-mode autograd that train the attention models of
 * Dive into Deep Learning on WebGPU. The public API, nothing else.
 */
export { init, engine, setEngine } from './runtime/global.js';
export { Engine, type Backend, type MemoryStats } from './runtime/engine.js';
export { Tensor, type DType } from './runtime/tensor.js';
export { backward } from './runtime/autograd.js';
export { OpError } from './runtime/op.js';
export { INSTALL_HINT, type AdapterReport } from './runtime/device.js';

export { tensor } from './ops/creation.js';
export {
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  neg,
  exp,
  log,
  tanh,
  relu,
  sigmoid,
  square,
  sqrt,
  sin,
  cos,
  pow,
  compare,
  expand,
  fill,
  zeros,
  ones,
} from './ops/elementwise.js';
export { sum, mean, max, sumToShape } from './ops/reduce.js';
export { reshape } from './ops/shape.js';
export { matmul } from './ops/matmul.js';
export { maskedSoftmax } from './ops/masked_softmax.js';
export { crossEntropy } from './ops/cross_entropy.js';
export { batchNorm } from './ops/batch_norm.js';

export { Module } from './nn/module.js';
export { Linear } from './nn/linear.js';
export { ReLU } from './nn/activation.js';
export { BatchNorm1d } from './nn/batch_norm.js';
export { Sequential } from './nn/sequential.js';
export { manualSeed } from './nn/init.js';

export { SGD } from './optim/sgd.js';
export { Adam, AdamW } from './optim/adam.js';
export { clipGradNorm } from './optim/clip.js';

export { NWKernelRegression, nwNonParametric } from './models/nadaraya_watson.js';
export { clsMlp } from './models/cls_mlp.js';
export { trainNadarayaWatson } from './experiments/nadaraya_watson.js';
export { trainClsMlp } from './experiments/cls_mlp.js';

export { Random } from './data/random.js';
export { nwData, nwKeysValues } from './data/nadaraya_watson.js';
export { maskedTokenData } from './data/masked_tokens.js';
