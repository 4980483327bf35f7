/**
 * Validation of integer inputs as PyTorch does it: labels and indices out of range, and valid lengths given as plain
 * arrays. Values the host holds (every int32 tensor on the CPU backend, `fromArray` uploads on WebGPU) are checked
 * at the call; values that live only on the GPU are checked by the kernels (src/runtime/device_checks.ts).
 */
import type { Engine } from '../runtime/engine.js';
import { OpError } from '../runtime/errors.js';
import type { TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';

/** `[i, j, …]`: the position of flat index `flat` in `shape`. */
export function formatPosition(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % Math.max(1, shape[d]));
    flat = Math.floor(flat / Math.max(1, shape[d]));
  }
  return `[${idx.join(', ')}]`;
}

/**
 * Throws an {@link OpError} for the first host-known value of `meta` outside [0, bound) that is not `ignore`
 * (`torch.nn.functional.cross_entropy`'s "Target 5 is out of bounds", `embedding`'s "index out of range"). A
 * tensor whose values only the GPU holds passes: its kernel checks it.
 * @param what what a value is, for the message: 'label', 'index'.
 */
export function checkRange(
  op: string,
  what: string,
  meta: TensorMeta,
  bound: number,
  shapes: readonly (readonly number[])[],
  ignore?: number,
): void {
  const v = meta.host;
  if (!v) return;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if ((x < 0 || x >= bound) && x !== ignore)
      throw new OpError(
        op,
        `${what} ${x} at ${formatPosition(i, meta.shape)} is outside [0, ${bound})` +
          (ignore === undefined ? '' : ` and is not ignoreIndex (${ignore})`),
        shapes,
      );
  }
}

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
