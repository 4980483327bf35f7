/**
 * webgpu-attention: hand-written WGSL kernels with reverse-mode autograd that train the attention models of
 * Dive into Deep Learning on WebGPU. The public API, nothing else.
 */
// The API's types name WebGPU's (GPUDevice, GPUBuffer, …): the declarations pull them in for the consumer, and
// `preserve` keeps the directive in dist/types/index.d.ts (TypeScript ≥ 5.5 drops unmarked ones).
/// <reference types="@webgpu/types" preserve="true" />
export { init, engine, setEngine } from './runtime/global.js';
export { Engine, type Backend, type MemoryStats } from './runtime/engine.js';
export { CapturedGraph, type CaptureOptions } from './runtime/capture.js';
export { Tensor, type DType } from './runtime/tensor.js';
export { backward, type BackwardOptions } from './ops/autograd.js';
export {
  OpError,
  GpuError,
  CheckpointError,
  AutogradError,
  DeviceLostError,
  type GpuErrorKind,
} from './runtime/errors.js';
export { INSTALL_HINT, type AdapterReport, type GpuLimits, type GpuOptions } from './runtime/device.js';
export { KERNELS_ENV, type AdapterProfile, type KernelChoice, type KernelSet } from './runtime/kernel_set.js';
export { type InitOptions } from './runtime/global.js';

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
export { permute, transpose } from './ops/permute.js';
export { argmax } from './ops/argmax.js';
export { matmul } from './ops/matmul.js';
export { addN } from './ops/add_n.js';
export { scaledDotProductAttention } from './ops/attention.js';
export { additiveScore } from './ops/additive_score.js';
export { hardAttention } from './ops/hard_attention.js';
export { splitHeads, mergeHeads } from './ops/heads.js';
export { repeatInterleave } from './ops/repeat_interleave.js';
export { embedding } from './ops/embedding.js';
export { dropout } from './ops/dropout.js';
export { concat, slice, stack, unbind } from './ops/concat.js';
export { layerNorm } from './ops/layer_norm.js';
export { gruCell } from './ops/gru_cell.js';
export { lstmCell } from './ops/lstm_cell.js';
export { maskedSoftmax } from './ops/masked_softmax.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { crossEntropy, type CrossEntropyOptions } from './ops/cross_entropy.js';
export { batchNorm } from './ops/batch_norm.js';

export { Module } from './nn/module.js';
export { Linear } from './nn/linear.js';
export { ReLU } from './nn/activation.js';
export { BatchNorm1d } from './nn/batch_norm.js';
export { Sequential } from './nn/sequential.js';
export { Dropout } from './nn/dropout.js';
export { Embedding } from './nn/embedding.js';
export { LayerNorm } from './nn/layer_norm.js';
export { GRU, LSTM } from './nn/rnn.js';
export { PositionWiseFFN, AddNorm } from './nn/transformer_blocks.js';
export { AdditiveAttention, DotProductAttention, BilinearAttention } from './nn/attention_scoring.js';
export { MultiHeadAttention } from './nn/multi_head_attention.js';
export { PositionalEncoding, positionalEncodingMatrix } from './nn/positional_encoding.js';
export { manualSeed } from './runtime/random.js';

export { type OptimizerState } from './optim/optimizer.js';
export { SGD } from './optim/sgd.js';
export { Adam, AdamW } from './optim/adam.js';
export { clipGradNorm } from './optim/clip.js';

export { NWKernelRegression, nwNonParametric } from './models/nadaraya_watson.js';
export { clsMlp } from './models/cls_mlp.js';
export { ClsAttention } from './models/cls_attention.js';
export { ClsTransformer } from './models/cls_transformer.js';
export { Encoder, Decoder, EncoderDecoder } from './models/encoder_decoder.js';
export { Seq2SeqEncoder, Seq2SeqAttentionDecoder, seq2seqAttention } from './models/seq2seq.js';
export {
  Transformer,
  TransformerEncoder,
  TransformerDecoder,
  buildTransformer,
  type TransformerConfig,
} from './models/transformer.js';
export { maskedSoftmaxCELoss } from './train/loss.js';
export { trainSeq2Seq } from './train/trainer.js';
export { predictSeq2Seq, evaluateBleu } from './train/predict.js';
export { bleu } from './eval/bleu.js';
export { encodeSafetensors, decodeSafetensors, type NamedArray } from './train/safetensors.js';
export {
  encodeCheckpoint,
  decodeCheckpoint,
  modelFromCheckpoint,
  type Checkpoint,
  type CheckpointConfig,
  type CheckpointContents,
  type CheckpointFiles,
  type ModelBuilder,
} from './train/checkpoint_files.js';
export { memoryStore, type CheckpointStore } from './train/checkpoint_store.js';
export { type RunOptions, type StepInfo } from './train/training_run.js';
export { type TrainingState } from './train/training_checkpoint.js';
export { trainNadarayaWatson } from './experiments/nadaraya_watson.js';
export { trainClsMlp } from './experiments/cls_mlp.js';

export { Random, type RandomState } from './runtime/random.js';
export { nwData, nwKeysValues } from './data/nadaraya_watson.js';
export { maskedTokenData, heldOutSplit } from './data/masked_tokens.js';
export { Vocab } from './data/vocab.js';
export { preprocessNmt, tokenizeNmt } from './data/fra_eng.js';
export { nmtData, buildArray } from './data/translation_arrays.js';
// Node-only helpers (file system, checkpoint folders) are exported by src/node.ts only, browser-only ones
// (checkpoints in IndexedDB and as Files) by src/browser.ts; the plots (src/plot/) belong to the repository's own
// command line and are not part of the package.
