/**
 * Which path `scaledDotProductAttention` takes when the caller does not say (`fused` unset): the faster one for the
 * kernel set that runs, measured with `npm run bench -- --cases sdpa-fwd,sdpa-fwd-bwd` (B·H = 32, D 32 and 64,
 * 1-D validLens, fused against unfused interleaved in one run), unless the unfused path's (B, L, S) buffers would
 * be too large, where only the fused kernels run at all.
 */
import type { Engine } from '../runtime/engine.js';
import type { PerSet } from '../runtime/kernel_set.js';
import { SDPA_MAX_HEAD_DIM } from './sdpa_fused.js';
import type { Dims } from './sdpa_reference.js';

/**
 * The largest (B, L, S) float32 buffer the unfused path may allocate when the choice is ours: WebGPU's default
 * `maxStorageBufferBindingSize`. Past it the unfused path needs a device with raised limits, and its backward
 * holds about five such buffers (scores, weights, their gradients, the dropped weights), so memory, not time,
 * decides.
 */
export const SDPA_UNFUSED_MAX_BYTES = 128 * 1024 * 1024;

/**
 * Whether the fused kernels beat the unfused composition, per kernel set. Software: since the subgroup matmul
 * (lavapipe) and the named-variable matmul (SwiftShader), matmul → maskedSoftmax → matmul is faster at every
 * measured size, forward and forward + backward (fused at 0.5–0.75× of unfused on lavapipe at L = 128–512,
 * about 0.4× on SwiftShader). Hardware: the tiled FlashAttention-2 kernels read each k/v tile once per 16–64
 * query rows and write no (B, L, S) buffer; not timed here (no GPU), so the memory advantage decides.
 */
const fusedFaster: PerSet<(dm: Dims) => boolean> = {
  software: () => false,
  hardware: () => true,
};

/**
 * The default path for these dims: fused where it is faster on this kernel set, or where the unfused weights
 * would exceed {@link SDPA_UNFUSED_MAX_BYTES} or the device's binding limit; never fused for head dims above
 * {@link SDPA_MAX_HEAD_DIM}. The CPU backend (no kernel sets) takes the fused ops, as before.
 */
export function preferFused(engine: Engine, dm: Dims): boolean {
  const d4 = 4 * Math.ceil(dm.d / 4);
  const dv4 = 4 * Math.ceil(dm.dv / 4);
  if (d4 > SDPA_MAX_HEAD_DIM || dv4 > SDPA_MAX_HEAD_DIM) return false;
  if (!engine.gpu) return true;
  const weightBytes = 4 * dm.batch * dm.l * dm.s;
  const bindable = engine.profile.limits.maxStorageBufferBindingSize ?? SDPA_UNFUSED_MAX_BYTES;
  if (weightBytes > Math.min(SDPA_UNFUSED_MAX_BYTES, bindable)) return true;
  return engine.pick(fusedFaster)(dm);
}
