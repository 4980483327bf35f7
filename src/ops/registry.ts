/**
 * Every op with a GPU kernel, by name. `satisfies` keeps each entry a full OpDef (shape rule, GPU dispatch, CPU
 * reference, backward or an explained null, test cases), so a missing piece is a compile error; the generic
 * test in test/registry.test.ts walks this table.
 */
import type { AnyOpDef } from '../runtime/op.js';
import { batchNormBackward, batchNormOp } from './batch_norm.js';
import { concatOp, sliceOp } from './concat.js';
import { crossEntropyBackward, crossEntropyOp } from './cross_entropy.js';
import { dropoutOp } from './dropout.js';
import { binary, unary, unaryBackward } from './elementwise.js';
import { gruCellBackward, gruCellOp } from './gru_cell.js';
import { layerNormBackward, layerNormOp } from './layer_norm.js';
import { lstmCellBackward, lstmCellOp } from './lstm_cell.js';
import { maskedSoftmaxBackward, maskedSoftmaxOp } from './masked_softmax.js';
import { matmulOp } from './matmul.js';
import { adamUpdate, sgdUpdate } from './optim_update.js';
import { reduce } from './reduce.js';

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
  gru_cell: gruCellOp,
  gru_cell_backward: gruCellBackward,
  lstm_cell: lstmCellOp,
  lstm_cell_backward: lstmCellBackward,
  layer_norm: layerNormOp,
  layer_norm_backward: layerNormBackward,
} satisfies Record<string, AnyOpDef>;
