/**
 * Which path `scaledDotProductAttention` takes when the caller does not say (`fused` unset): the faster one for the
 * kernel set that runs, measured with `npm run bench -- --cases sdpa-fwd,sdpa-fwd-bwd` (B·H = 32, D 32 and 64,
 * 1-D validLens, fused against unfused interleaved in one run), unless the unfused path's (B, L, S) buffers would
 * be too large, where only the fused kernels run at all.
 */
import type { Engine } from '../runtime/engine.js';
import type { PerSet } from '../runtime/kernel_set.js';
import { SDPA_MAX_HEAD_DIM } from './sdpa_fused.js';
import { sdpaPlans } from './sdpa_plans.js';
import type { Dims } from './sdpa_reference.js';

/**
 * The largest (B, L, S) float32 buffer the unfused path may allocate when the choice is ours: WebGPU's default
 * `maxStorageBufferBindingSize`. Past it the unfused path needs a device with raised limits, and its backward
 * holds about five such buffers (scores, weights, their gradients, the dropped weights), so memory, not time,
 * decides.
 */
export const SDPA_UNFUSED_MAX_BYTES = 128 * 1024 * 1024;

/**
 * Whether the fused kernels beat the unfused composition, per kernel set, for a forward alone or (`backward`)
 * forward + backward. Software: only the `_subgroup` kernels (one lane loads each shared k / v or q / dy row,
 * subgroupBroadcast hands it on) can; the plain ones lost to the unfused path (0.5–0.94×) since the subgroup matmul
 * (lavapipe) and the named-variable matmul (SwiftShader) made it fast, so devices without subgroups of 8 or more
 * lanes take the unfused path. Measured on lavapipe (interleaved medians, B·H = 32, 1-D lens, fused / unfused):
 * forward 2.0–2.4× at L = 128, 2.1× at 256 (D = 64), 1.9× at 512 (D = 32), 2.3× at 512 (D = 64), so a forward
 * alone runs fused; forward + backward 0.7–1.0× at L = 128, 0.87–0.94× at 256, 0.92× (D = 64) and 1.23× (D = 32)
 * at 512 in quiet runs (1.6–1.8× in runs beside other jobs): at best even, so with a tape the unfused path runs.
 * Steady state only: lavapipe compiles each _subgroup pipeline for 0.5 (forward) to 2 minutes (dq, dk/dv) the
 * first time; Mesa keeps them in its disk cache. Hardware: the tiled FlashAttention-2 kernels read each k/v tile
 * once per 16–64 query rows and write no (B, L, S) buffer; not timed here (no GPU), so memory decides.
 */
const fusedFaster: PerSet<(dm: Dims, engine: Engine, backward: boolean) => boolean> = {
  software: (dm, engine, backward) =>
    !backward && engine.pick(sdpaPlans.forward)(dm, engine).kernel.endsWith('_subgroup'),
  hardware: () => true,
};

/**
 * The default path for these dims, for a forward alone or (`backward`: a tape is recorded) forward + backward:
 * fused where it is faster on this kernel set, or where the unfused weights would exceed
 * {@link SDPA_UNFUSED_MAX_BYTES} or the device's binding limit; never fused for head dims above
 * {@link SDPA_MAX_HEAD_DIM}. The CPU backend (no kernel sets) takes the fused ops, as before.
 */
export function preferFused(engine: Engine, dm: Dims, backward = false): boolean {
  const d4 = 4 * Math.ceil(dm.d / 4);
  const dv4 = 4 * Math.ceil(dm.dv / 4);
  if (d4 > SDPA_MAX_HEAD_DIM || dv4 > SDPA_MAX_HEAD_DIM) return false;
  if (!engine.gpu) return true;
  const weightBytes = 4 * dm.batch * dm.l * dm.s;
  const bindable = engine.profile.limits.maxStorageBufferBindingSize ?? SDPA_UNFUSED_MAX_BYTES;
  if (weightBytes > Math.min(SDPA_UNFUSED_MAX_BYTES, bindable)) return true;
  return engine.pick(fusedFaster)(dm, engine, backward);
}
