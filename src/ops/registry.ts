/**
 * Every op with a GPU kernel, by name. `satisfies` keeps each entry a full OpDef (shape rule, GPU dispatch, CPU
 * reference, backward or an explained null, test cases), so a missing piece is a compile error; the generic
 * test in test/registry.test.ts walks this table.
 */
import type { OpDef } from '../runtime/op.js';
import { binary, unary, unaryBackward } from './elementwise.js';
import { reduce } from './reduce.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const registry = {
  unary,
  unary_backward: unaryBackward,
  binary,
  reduce,
} satisfies Record<string, OpDef<any>>;
