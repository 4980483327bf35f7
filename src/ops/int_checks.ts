/**
 * Validation of integer inputs as PyTorch does it: labels and indices out of range (valid lengths given as plain
 * arrays: valid_lens.ts). Values the host holds (every int32 tensor on the CPU backend, `fromArray` uploads on
 * WebGPU) are checked at the call; values that live only on the GPU are checked by the kernels
 * (src/runtime/device_checks.ts).
 */
import { OpError } from '../runtime/errors.js';
import type { TensorMeta } from '../runtime/op.js';

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
