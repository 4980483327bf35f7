/** Host-side int32 validation: what int32 storage would silently change is an error at the call. */
import { OpError } from './errors.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Throws an {@link OpError} for a value that int32 storage would change: NaN, ±Infinity, a fraction (1.5 → 1) or a
 * number outside [−2³¹, 2³¹) (3e9 wraps), naming its flat index.
 */
export function checkInt32(op: string, values: ArrayLike<number>, shape: readonly number[]): void {
  if (values instanceof Int32Array) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX)
      throw new OpError(
        op,
        `int32 value ${v} at flat index ${i} is not an integer in [-2147483648, 2147483647]`,
        [shape],
      );
  }
}
