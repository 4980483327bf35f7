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
 * forward + backward. Software: where the _named or _subgroup forward runs (subgroups of 4 or 8 lanes and more),
 * and for forward + backward where the _named dq and dk/dv kernels run too (head dims up to 64); elsewhere the
 * unfused path (the plain fused kernels, rows in private arrays, lost to it: 0.5–0.94×). Measured with interleaved
 * medians (bench/RESULTS.md, 2026-12-05), B·H = 32, 1-D lens drawn from [L / 2, L], L 128–1024, D 32 and 64, fused /
 * unfused: lavapipe forward 1.7–3.3×, forward + backward 1.5–2.5×; SwiftShader (Chrome, 4-lane subgroups, blocks
 * of 4 keys written out) forward 2.4–4.0×, forward + backward 1.7–2.7×. Steady state only: lavapipe compiles each
 * fused pipeline for 0.5 (forward) to about 1 minute (backward) the first time, and Mesa keeps them in its disk
 * cache; SwiftShader takes 2–11 s per fused pipeline at D = 64. Hardware: the tiled FlashAttention-2 kernels read
 * each k/v tile once per 16–64 query rows and write no (B, L, S) buffer; not timed here (no GPU), so memory decides.
 */
const fusedFaster: PerSet<(dm: Dims, engine: Engine, backward: boolean) => boolean> = {
  software: (dm, engine, backward) =>
    /_(named|subgroup)$/.test(engine.pick(sdpaPlans.forward)(dm, engine).kernel) &&
    (!backward || engine.pick(sdpaPlans.dq)(dm, engine).kernel.endsWith('_named')),
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
