/**
 * d2l's `valid_lens` in one place, for every op and module that masks keys (maskedSoftmax, the fused attention
 * kernels, hardAttention, the scoring modules, MultiHeadAttention): the type callers pass, the check and upload of
 * plain arrays with who frees the upload, the shape rule, and the one encoding the kernels read.
 *
 * Encoding: a row is a flat index over the leading dims of the scores (b·L + i for (B, L, S)); `lens_rows` is the
 * number of consecutive rows that share one length (L for (B) lengths, 1 for (B, L), rows / B for other ranks), and
 * 0 when there are no lengths (the kernel's `lens` is then an unread stand-in). Row r's length is
 * lens[r / lens_rows]: `valid_len` in shaders/lib/valid_lens.wgsl, {@link validLength} here.
 */
import type { Engine } from '../runtime/engine.js';
import { OpError, type TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { formatPosition } from './int_checks.js';
import { repeatInterleave } from './repeat_interleave.js';

/**
 * Valid key lengths: int32 (B) (one per batch item, applied to each of its query rows) or (B, L) (one per query
 * row); plain arrays are checked and uploaded as int32; null or absent masks nothing.
 */
export type ValidLens = Tensor | number[] | number[][] | null;

/** Plain-array valid lengths: (B) or (B, L) as nested arrays. */
export type LensArray = ArrayLike<number> | number[][];

/**
 * The shape and flat values of plain-array valid lengths, checked: rows of equal length, and every value a finite
 * non-negative integer that fits int32 (1.5, NaN, −1 or 3e9 would otherwise be truncated, zeroed or wrapped).
 * @throws OpError naming `op` and the bad entry.
 */
export function checkLens(op: string, lens: LensArray): { shape: number[]; flat: number[] } {
  const nested = lens.length > 0 && Array.isArray(lens[0]);
  let shape: number[];
  let flat: number[];
  if (nested) {
    const rows = lens as number[][];
    if (rows.some((r) => !Array.isArray(r) || r.length !== rows[0].length))
      throw new OpError(
        op,
        `validLens rows have different lengths (${rows.map((r) => r?.length).join(', ')})`,
      );
    shape = [rows.length, rows[0].length];
    flat = rows.flat();
  } else {
    shape = [lens.length];
    flat = Array.from(lens as ArrayLike<number>);
  }
  flat.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1)
      throw new OpError(
        op,
        `validLens${formatPosition(i, shape)} = ${v} is not a valid length (a non-negative integer below 2^31)`,
        [shape],
      );
  });
  return { shape, flat };
}

/** Uploads checked plain-array valid lengths as an int32 tensor (see {@link checkLens}). */
export function uploadLens(engine: Engine, op: string, lens: LensArray): Tensor {
  const { shape, flat } = checkLens(op, lens);
  return engine.fromArray(flat, shape, 'int32');
}

/**
 * Runs `fn` with `validLens` as an int32 tensor or undefined. A plain array is checked and uploaded here, and the
 * upload is freed as soon as nothing refers to it: at once when `fn` throws or its result records no tape entry
 * (`recorded(result)` false); otherwise the tape's backward reads it and the enclosing tidy scope frees it. A
 * tensor the caller passes stays the caller's.
 */
export function withValidLens<T>(
  engine: Engine,
  op: string,
  validLens: ValidLens | undefined,
  fn: (lens: Tensor | undefined) => T,
  recorded: (result: T) => boolean,
): T {
  if (!validLens) return fn(undefined);
  if (!Array.isArray(validLens)) return fn(validLens);
  const owned = uploadLens(engine, op, validLens);
  let result: T;
  try {
    result = fn(owned);
  } catch (e) {
    owned.dispose();
    throw e;
  }
  if (!recorded(result)) owned.dispose();
  return result;
}

/**
 * The shape rule of valid lengths against the scores' leading dims `lead` ((B, L) for (B, L, S)): int32, (B) or
 * (B, L) and equal to the first one or two of `lead`. Returns `lens_rows` (see the file comment): 0 without lens.
 * @param what appended to the shape message, naming the scores' shape for the op ('', ', the leading dims of x…').
 * @throws OpError naming `op` and `shapes`.
 */
export function lensRows(
  op: string,
  lead: readonly number[],
  lens: TensorMeta | undefined,
  shapes: readonly (readonly number[])[],
  what = '',
): number {
  if (!lens) return 0;
  if (lens.dtype !== 'int32')
    throw new OpError(
      op,
      `validLens must be an int32 tensor, got ${lens.dtype} (upload it with dtype 'int32')`,
      shapes,
    );
  const r = lens.shape.length;
  // (B) lengths need a batch axis before the keys; (B, L) lengths need a query axis too.
  if ((r !== 1 && r !== 2) || lead.length < r || lens.shape.some((d, i) => d !== lead[i]))
    throw new OpError(op, `validLens must be (B) or (B, L)${what}`, shapes);
  const rows = lead.reduce((a, d) => a * d, 1);
  const n = lens.shape.reduce((a, d) => a * d, 1);
  return Math.max(1, rows / Math.max(1, n));
}

/** Row `row`'s valid length, `full` without lens: the CPU references' twin of WGSL `valid_len`. */
export function validLength(
  rows: number,
  lens: { data: ArrayLike<number> } | undefined,
  row: number,
  full: number,
): number {
  return rows === 0 ? full : lens!.data[Math.floor(row / rows)];
}

/**
 * d2l's `repeat_interleave(valid_lens, repeats=H, dim=0)` for the head-split batch: (B) → (B·H), (B, L) → (B·H, L),
 * so that row b·H + h gets item b's lengths. Plain arrays stay plain arrays (uploaded once, by the attention op).
 */
export function repeatLens(validLens: ValidLens | undefined, h: number): ValidLens {
  if (!validLens) return null;
  if (!Array.isArray(validLens)) return repeatInterleave(validLens, h);
  if (validLens.length > 0 && Array.isArray(validLens[0]))
    return (validLens as number[][]).flatMap((row) => Array.from({ length: h }, () => [...row]));
  return (validLens as number[]).flatMap((len) => new Array<number>(h).fill(len));
}
