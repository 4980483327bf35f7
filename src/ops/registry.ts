/**
 * Every op with a GPU kernel, by name. `satisfies` keeps each entry a full OpDef (shape rule, GPU dispatch, CPU
 * reference, backward or an explained null, test cases), so a missing piece is a compile error; the generic
 * test in test/registry.test.ts walks this table.
 */
import type { AnyOpDef } from '../runtime/op.js';
import { addNOp } from './add_n.js';
import { argmaxOp } from './argmax.js';
import { additiveScoreBackward, additiveScoreOp } from './additive_score.js';
import {
  sdpaBackwardDelta,
  sdpaBackwardDkdv,
  sdpaBackwardDq,
  sdpaForward,
  sdpaWeights,
} from './sdpa_fused.js';
import { batchNormBackward, batchNormOp } from './batch_norm.js';
import { concatOp, sliceBackward, sliceOp } from './concat.js';
import { crossEntropyBackward, crossEntropyOp } from './cross_entropy.js';
import { dropoutOp } from './dropout.js';
import { binary, unary, unaryBackward } from './elementwise.js';
import { embeddingBackward, embeddingOp } from './embedding.js';
import { gruCellBackward, gruCellOp } from './gru_cell.js';
import { mergeHeadsOp, splitHeadsOp } from './heads.js';
import { hardAttentionOp } from './hard_attention.js';
import { layerNormBackward, layerNormOp } from './layer_norm.js';
import { lstmCellBackward, lstmCellOp } from './lstm_cell.js';
import { maskedSoftmaxBackward, maskedSoftmaxOp } from './masked_softmax.js';
import { matmulOp } from './matmul.js';
import { permuteOp } from './permute.js';
import { adamUpdate, sgdUpdate } from './optim_update.js';
import { reduce } from './reduce.js';
import { repeatInterleaveOp } from './repeat_interleave.js';
import { scaleAllOp } from './scale_all.js';
import { logSoftmaxBackward, logSoftmaxOp, softmaxBackward, softmaxOp } from './softmax.js';
import { sumSquaresOp } from './sum_squares.js';

export const registry = {
  unary,
  unary_backward: unaryBackward,
  binary,
  reduce,
  matmul: matmulOp,
  batch_norm: batchNormOp,
  batch_norm_backward: batchNormBackward,
  sgd_update: sgdUpdate,
  adam_update: adamUpdate,
  masked_softmax: maskedSoftmaxOp,
  masked_softmax_backward: maskedSoftmaxBackward,
  cross_entropy: crossEntropyOp,
  cross_entropy_backward: crossEntropyBackward,
  dropout: dropoutOp,
  concat: concatOp,
  slice: sliceOp,
  slice_backward: sliceBackward,
  gru_cell: gruCellOp,
  gru_cell_backward: gruCellBackward,
  lstm_cell: lstmCellOp,
  lstm_cell_backward: lstmCellBackward,
  layer_norm: layerNormOp,
  layer_norm_backward: layerNormBackward,
  sdpa_forward: sdpaForward,
  sdpa_backward_delta: sdpaBackwardDelta,
  sdpa_backward_dq: sdpaBackwardDq,
  sdpa_backward_dkdv: sdpaBackwardDkdv,
  sdpa_weights: sdpaWeights,
  additive_score: additiveScoreOp,
  additive_score_backward: additiveScoreBackward,
  hard_attention: hardAttentionOp,
  split_heads: splitHeadsOp,
  merge_heads: mergeHeadsOp,
  repeat_interleave: repeatInterleaveOp,
  embedding: embeddingOp,
  embedding_backward: embeddingBackward,
  sum_squares: sumSquaresOp,
  add_n: addNOp,
  scale_all: scaleAllOp,
  permute: permuteOp,
  softmax: softmaxOp,
  softmax_backward: softmaxBackward,
  log_softmax: logSoftmaxOp,
  log_softmax_backward: logSoftmaxBackward,
  argmax: argmaxOp,
} satisfies Record<string, AnyOpDef>;
