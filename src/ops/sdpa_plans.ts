/**
 * How each fused attention kernel is launched, per kernel set (src/runtime/kernel_set.ts). Every plan shares one
 * geometry: x = blocks of `rowsPerGroup` rows (query rows for the forward and dq, key rows for dk/dv), B folded
 * into y·z; the params and bindings are those of sdpa_fused.ts. The software kernels give each thread several rows
 * (few bounds-checked loads, no barriers): the _named kernels hold them in named variables, the others in
 * private arrays; the hardware kernels stage k/v (or q/dy) tiles in workgroup memory (FlashAttention-2).
 */
import { fourLaneSubgroups } from '../runtime/device.js';
import type { Engine } from '../runtime/engine.js';
import type { PerSet } from '../runtime/kernel_set.js';
import { shaderSources } from '../runtime/shaders.js';
import type { Dims } from './sdpa_reference.js';

export interface SdpaPlan {
  kernel: string;
  /** Override constants besides CAUSAL and DROPOUT, which the dispatch adds. */
  constants: Record<string, number>;
  /** Rows one workgroup owns. */
  rowsPerGroup: number;
}

/** Software kernels: threads per workgroup at most, and rows per thread (RM in the WGSL). */
const WG = 64;
const RM = 8;

/** Keys (or query rows) per step of the software kernels (KB in the WGSL): the lanes a _subgroup variant reads. */
const KB = 8;

/**
 * The _named kernels' largest head dim in vec4, and the fewest subgroup lanes they share rows over (SHARE_LANES in
 * lib/sdpa_rows.wgsl: 8, or 4 where the smallest subgroup has fewer than 8 lanes, as on SwiftShader).
 */
const NAMED_MAX_D4 = 16;
const NAMED_MIN_LANES = 4;

/**
 * The _named kernels' rows per thread (ROWS in the WGSL, 1 to 8): more rows share each loaded k / v (or q / dy) row,
 * but each holds 3 (dq) or 4 (dk/dv) head-dim rows in named variables that spill. Best on lavapipe (B·H = 32, L = 256,
 * kernels timed alone, ms, ROWS = 1 / 2 / 3 / 4 / 8): dk/dv at D = 64 42 / 29 / 40 / 42 / 39, at D = 32 21 / 15 /
 * 21 / 16; dq at D = 64 (ROWS 4 / 8) 15 / 22, at D = 32 8.9 / 7.8; the forward at D = 64 (ROWS 2 / 4 / 8) 23 / 16 /
 * 14.5, at D = 32 15 / 8.8 / 8.9. On SwiftShader (Chrome, `fourLanes`) each block of 4 keys or query rows is written
 * out, so a sum is assigned once per block, and there every kernel runs fastest at 8 (L = 256, D = 64, ROWS =
 * 1 / 2 / 4 / 8, ms: forward 242 / 146 / 105 / 80, dq 237 / 147 / 109 / 82, dk/dv 303 / 202 / 137 / 124), though
 * its compile time grows with ROWS (D = 64, ROWS 4 → 8, s: forward 1.7 → 3.8, dq 2.9 → 8.5, dk/dv 4.0 → 11.2).
 */
function namedRows(kernel: string, dm: Dims, fourLanes: boolean): number {
  if (fourLanes) return 8;
  if (kernel === 'sdpa_backward_dkdv') return 2;
  if (kernel === 'sdpa_forward') return 8;
  return Math.max(dm.d, dm.dv) <= 32 ? 8 : 4;
}

/** Each _named kernel's override that writes a block of 4 keys (dk/dv: query rows) out. */
const WRITTEN: Record<string, string> = {
  sdpa_forward: 'KEYS_WRITTEN',
  sdpa_backward_dq: 'KEYS_WRITTEN',
  sdpa_backward_dkdv: 'QUERIES_WRITTEN',
};

/**
 * WG, or fewer (8, 16 or 32: few pipelines, whole SIMD groups) when the rows do not fill it; the _named and
 * _subgroup dk/dv kernels one subgroup (see below). Where the device has subgroups of NAMED_MIN_LANES to WG lanes:
 * the kernel's `_named` variant where it has one and the head dims are at most 4·NAMED_MAX_D4 (rows in named
 * variables, the head dims as pipeline constants; src/ops/sdpa_path.ts has the timings); else, with subgroups of KB
 * lanes or more, its `_subgroup` variant (one lane loads each shared k / v row and subgroupShuffle hands it on),
 * with WG a multiple of the largest subgroup so that subgroups are whole, and the head dims as pipeline constants,
 * which fix the trip count of its loops over them.
 */
function softwarePlan(kernel: string, rows: number, dm: Dims, engine?: Engine): SdpaPlan {
  const gpu = engine?.gpu;
  const info = gpu?.adapter.info;
  const [sgMin, sgMax] = [info?.subgroupMinSize ?? 0, info?.subgroupMaxSize ?? 0];
  const hasSubgroups = gpu?.device.features.has('subgroups') === true && sgMax <= WG;
  const subgroups = hasSubgroups && sgMin >= KB;
  const heads = { HEAD_D4: dm.d / 4, HEAD_DV4: dm.dv / 4 };
  const named =
    hasSubgroups &&
    sgMin >= NAMED_MIN_LANES &&
    `${kernel}_named` in shaderSources &&
    dm.d % 4 === 0 &&
    dm.dv % 4 === 0 &&
    Math.max(heads.HEAD_D4, heads.HEAD_DV4) <= NAMED_MAX_D4;
  const variant = named ? '_named' : subgroups && `${kernel}_subgroup` in shaderSources ? '_subgroup' : '';
  const fourLanes = fourLaneSubgroups(gpu);
  const perThread = named ? namedRows(kernel, dm, fourLanes) : RM;
  let wg = variant ? sgMax : 8;
  // The subgroup dk/dv kernels' key blocks are one subgroup's keys (WG = sgMax), so that a block past every row's
  // valid length is skipped: with 1-D lengths drawn from [L/2, L] about a quarter of the keys lie past their
  // item's length, and blocks of 64 to 512 keys computed nearly all of them. Kernel alone on lavapipe, B·H = 32,
  // ms: _named (blocks of 64 keys → 16), D = 64: L = 128 8.4 → 6.8, L = 512 106 → 94, L = 1024 375 → 354;
  // D = 32, L = 1024 238 → 194. _subgroup (blocks of up to 512 keys → 64), D = 128: L = 512 344 → 281,
  // L = 1024 1309 → 1095; D = 96, L = 256 74 → 63. On SwiftShader (_named, 4 lanes, WG = 4) the same within the
  // noise.
  if (!(variant && kernel === 'sdpa_backward_dkdv')) while (wg < WG && wg * perThread < rows) wg *= 2;
  return {
    kernel: kernel + variant,
    constants: {
      WG: wg,
      ...(variant ? heads : {}),
      ...(named ? { ROWS: perThread, SHARE_LANES: sgMin >= KB ? KB : NAMED_MIN_LANES } : {}),
      // The _named kernels write a block's 4 keys (dk/dv: query rows) out on SwiftShader (see the WGSL).
      ...(named ? { [WRITTEN[kernel]]: fourLanes ? 1 : 0 } : {}),
    },
    rowsPerGroup: wg * perThread,
  };
}

export const sdpaPlans: Record<'forward' | 'dq' | 'dkdv', PerSet<(dm: Dims, engine?: Engine) => SdpaPlan>> = {
  forward: {
    software: (dm, engine) => softwarePlan('sdpa_forward', dm.l, dm, engine),
    // sdpa_forward_tiled.wgsl: 4 threads per query row, so WG = 4·BR. BR = 64 rows reuse each staged k/v tile
    // most; halved (down to 16) while B·ceil(L / BR) < 128 workgroups, too few to fill a large GPU.
    hardware: (dm) => {
      let br = 64;
      while (br > 16 && dm.batch * Math.ceil(dm.l / br) < 128) br /= 2;
      return { kernel: 'sdpa_forward_tiled', constants: { WG: 4 * br }, rowsPerGroup: br };
    },
  },
  dq: {
    software: (dm, engine) => softwarePlan('sdpa_backward_dq', dm.l, dm, engine),
    // sdpa_backward_dq_tiled.wgsl: 16 query rows per workgroup of 128 threads (8 per row), fixed in the WGSL.
    hardware: () => ({ kernel: 'sdpa_backward_dq_tiled', constants: {}, rowsPerGroup: 16 }),
  },
  dkdv: {
    software: (dm, engine) => softwarePlan('sdpa_backward_dkdv', dm.s, dm, engine),
    // sdpa_backward_dkdv_tiled.wgsl: 16 key rows per workgroup of 128 threads (8 per row), fixed in the WGSL.
    hardware: () => ({ kernel: 'sdpa_backward_dkdv_tiled', constants: {}, rowsPerGroup: 16 }),
  },
};
