/**
 * Device-side value checks, the analogue of PyTorch's asynchronous CUDA asserts: a kernel that reads labels or
 * indices that only the GPU holds (an int32 tensor computed on the device, or new data written by a captured graph's
 * replay) records the first bad one in an engine-owned flag buffer; the engine copies the flags along with every
 * readback and `sync()` (no extra wait) and throws the {@link OpError} there.
 *
 * A kernel opts in by declaring `@group(0) @binding(k) var<storage, read_write> err: array<atomic<u32>, 8>;` — the
 * engine binds the flag buffer to that name — and writes, for its first bad value:
 *
 *   if (atomicOr(&err[0], 1u) == 0u) { err[1] = CHECK; err[2] = bitcast<u32>(value); err[3] = position;
 *                                      err[4] = bound; err[5] = bitcast<u32>(extra); }
 *
 * with CHECK one of {@link DeviceCheck}'s codes (spelt as a WGSL constant in the kernel).
 */
import { OpError } from './errors.js';

/** The codes kernels write into err[1]. */
export const DeviceCheck = {
  /** cross_entropy.wgsl: a label outside [0, C) that is not ignoreIndex (err[5]). */
  label: 1,
  /** embedding.wgsl: an index outside [0, V). */
  index: 2,
} as const;

/** Bytes of the flag buffer: eight u32 words. */
export const FLAG_BYTES = 32;

const AFTER =
  'found by the GPU kernel, raised at the first readback or sync() after its launch; results computed since ' +
  'then are not meaningful';

/** The error the flags hold, or null when no kernel raised one. */
export function flagError(words: Uint32Array): OpError | null {
  if (words[0] === 0) return null;
  const value = words[2] | 0;
  const at = words[3];
  const bound = words[4];
  switch (words[1]) {
    case DeviceCheck.label:
      return new OpError(
        'cross_entropy',
        `label ${value} at row ${at} is outside [0, ${bound}) and is not ignoreIndex (${words[5] | 0}); ${AFTER}`,
      );
    case DeviceCheck.index:
      return new OpError(
        'embedding',
        `index ${value} at flat position ${at} is outside [0, ${bound}) (the table has ${bound} rows); ${AFTER}`,
      );
    default:
      return new OpError('device check', `unknown check code ${words[1]} (value ${value} at ${at})`);
  }
}
