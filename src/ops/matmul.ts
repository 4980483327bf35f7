/**
 * Batched matrix product with the transposes folded in (`torch.matmul` / `torch.bmm` on `a.mT`, `b.mT`): in the
 * software kernel set shaders/matmul.wgsl, matmul_subgroup.wgsl or (large 2-D products on lavapipe, operands copied
 * into textures) matmul_texture.wgsl, in the hardware set shaders/matmul_tiled.wgsl (64×64 tiles staged through
 * workgroup memory). Its backward is the same op with other transpose flags, so no gradient ever needs a transpose
 * copy.
 */
import { OpError, apply, type OpCase, type OpDef } from '../runtime/op.js';
import { fourLaneSubgroups, readOnlyStorageTextures } from '../runtime/device.js';
import type { Engine, TextureCopy } from '../runtime/engine.js';
import { shaderSources } from '../runtime/shaders.js';
import type { Tensor } from '../runtime/tensor.js';
import { sumToShape } from './reduce.js';
import { reshape } from './shape.js';

export interface MatmulAttrs {
  /** a is stored (K, M) / (B, K, M) and used transposed. */
  transA: boolean;
  /** b is stored (N, K) / (B, N, K) and used transposed. */
  transB: boolean;
}

/** matmul.wgsl: threads per workgroup along N and M; each computes an 8×8 block of y (fixed in the WGSL). */
const WX = 4;
const WY = 4;
const BLOCK = 8;
/** matmul_subgroup.wgsl: 16 rows of y per block, one vec4 column group per thread (fixed in the WGSL). */
const SG_ROWS = 16;
/** matmul_subgroup.wgsl's BLOCKS: 4 blocks (64 rows) per workgroup where M fills them, else 1. */
const SG_BLOCKS = 4;
/** matmul_subgroup.wgsl: threads per workgroup at most (fewer when N is narrow). */
const SG_WG = 64;
/** matmul_tiled.wgsl: the side of the square tile of y one workgroup computes (fixed in the WGSL). */
const TILE = 64;
/** matmul_texture.wgsl: rows of y per workgroup, and subgroups (panels of 8·SG columns) per workgroup at most. */
const TEX_ROWS = 32;
const TEX_PANELS = 8;
/**
 * matmul_texture.wgsl runs where M fills its row tile and M·N·K reaches 128³: there it beat matmul_subgroup.wgsl at
 * every size measured (lavapipe, one process, square, ms: 128² 0.39 vs 0.46, 256² 0.85 vs 1.29, 512² 6.7 vs 10.4,
 * 1024² 43 vs 77); below, the copies would be most of the work.
 */
const TEX_MIN_WORK = 128 ** 3;

interface Dims {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Elements between consecutive batch items; 0 when the operand is shared across the batch. */
  astride: number;
  bstride: number;
  out: number[];
}

function dims(a: readonly number[], b: readonly number[], { transA, transB }: MatmulAttrs): Dims {
  if (a.length < 2 || a.length > 3 || b.length < 2 || b.length > 3)
    throw new OpError('matmul', 'operands must be 2-D or 3-D', [a, b]);
  const [ra, ca] = a.slice(-2);
  const [rb, cb] = b.slice(-2);
  const [m, k] = transA ? [ca, ra] : [ra, ca];
  const [kb, n] = transB ? [cb, rb] : [rb, cb];
  if (k !== kb)
    throw new OpError(
      'matmul',
      `inner dimensions differ (K = ${k} vs ${kb}, transA ${transA}, transB ${transB})`,
      [a, b],
    );
  const ba = a.length === 3 ? a[0] : 1;
  const bb = b.length === 3 ? b[0] : 1;
  if (ba !== bb && ba !== 1 && bb !== 1)
    throw new OpError('matmul', `batch sizes ${ba} and ${bb} cannot be broadcast`, [a, b]);
  const batch = Math.max(ba, bb);
  return {
    batch,
    m,
    n,
    k,
    astride: ba === 1 ? 0 : m * k,
    bstride: bb === 1 ? 0 : k * n,
    out: a.length === 3 || b.length === 3 ? [batch, m, n] : [m, n],
  };
}

interface Plan {
  kernel: string;
  constants: Record<string, number>;
  /** The (N, M) extent of y one workgroup computes. */
  tiles: [number, number];
}

/**
 * matmul_texture.wgsl's launch: the subgroup size, the workgroup size it was compiled for, and b's panels of 8·SG
 * columns (texture array layers).
 */
interface TexturePlan {
  sg: number;
  wg: number;
  panels: number;
}

/**
 * Where matmul_texture.wgsl takes the product: the software set on a device with read-only storage textures and
 * one subgroup size of 8 or more (lavapipe; SwiftShader's 4-lane subgroups keep matmul_subgroup.wgsl), a 2-D
 * product without transposes (a batch of 1; the backward's transposed products stay in matmul_subgroup.wgsl), K a
 * multiple of 4·SG and of 64 and N of 64 (copies want rows of a multiple of 256 bytes), the textures within the
 * device's limits, M ≥ 32 and M·N·K ≥ {@link TEX_MIN_WORK}, and no graph capture recording (a replay encodes no
 * copies). Null elsewhere.
 */
function texturePlan(engine: Engine, d: Dims, { transA, transB }: MatmulAttrs): TexturePlan | null {
  const gpu = engine.gpu;
  if (!gpu || engine.profile.kernels !== 'software' || engine.capturing) return null;
  if (!('matmul_texture' in shaderSources) || !gpu.device.features.has('subgroups')) return null;
  if (!readOnlyStorageTextures(gpu)) return null;
  const sg = gpu.adapter.info?.subgroupMaxSize ?? 0;
  if (sg < 8 || sg > 64 || gpu.adapter.info?.subgroupMinSize !== sg) return null;
  if (transA || transB || d.batch !== 1 || d.m < TEX_ROWS || d.m * d.n * d.k < TEX_MIN_WORK) return null;
  if (d.k % 64 !== 0 || d.k % (4 * sg) !== 0 || d.n % 64 !== 0) return null;
  const { maxTextureDimension2D: max2d, maxTextureArrayLayers: maxLayers } = gpu.device.limits;
  const panels = Math.ceil(d.n / (8 * sg));
  if (d.k / 4 > max2d || d.m > max2d || d.k > max2d || 2 * sg > max2d || panels > maxLayers) return null;
  return { sg, wg: sg * Math.min(TEX_PANELS, panels), panels };
}

/**
 * y = a·b through matmul_texture.wgsl: a copied as it lies into one texture, b in panels of 8·SG columns, one
 * array layer each (a copy per panel), then one dispatch.
 */
function dispatchTexture(
  engine: Engine,
  a: Tensor,
  b: Tensor,
  y: Tensor,
  d: Dims,
  { sg, wg, panels }: TexturePlan,
): void {
  const at = engine.scratchTexture('matmul a', [d.k / 4, d.m, 1]);
  const bt = engine.scratchTexture('matmul b', [2 * sg, d.k, panels]);
  const copies: TextureCopy[] = [
    { source: a, offset: 0, bytesPerRow: d.k * 4, texture: at, origin: [0, 0, 0], size: [d.k / 4, d.m, 1] },
  ];
  for (let s = 0; s < panels; s++)
    copies.push({
      source: b,
      offset: 32 * sg * s,
      bytesPerRow: d.n * 4,
      texture: bt,
      origin: [0, 0, s],
      size: [Math.min(2 * sg, d.n / 4 - 2 * sg * s), d.k, 1],
    });
  engine.dispatch('matmul_texture', {
    bindings: { y },
    textures: { at, bt },
    copies,
    params: { m: d.m, n: d.n, k: d.k },
    constants: { WG: wg, SG: sg },
    groups: [Math.ceil(d.m / TEX_ROWS), Math.ceil(panels / (wg / sg))],
  });
}

/**
 * Which kernel computes the product. Hardware set: matmul_tiled.wgsl for every shape. Software set:
 * {@link softwarePlan}.
 */
function plan(engine: Engine, d: Dims, attrs: MatmulAttrs): Plan {
  return engine.pick<Plan>({
    software: softwarePlan(engine, d, attrs),
    hardware: { kernel: 'matmul_tiled', constants: {}, tiles: [TILE, TILE] },
  });
}

/**
 * The software set's kernel: matmul_subgroup.wgsl where the device has subgroups, K, N and (with transA) M are
 * multiples of 4 (it reads vec4 and steps through K 4 at a time) and M fills at least half its row tile (it
 * computes whole tiles), with 64-row tiles where M has 64 rows or more (fewer loads per multiply-add: see the WGSL);
 * matmul.wgsl everywhere else.
 */
function softwarePlan(engine: Engine, d: Dims, { transA }: MatmulAttrs): Plan {
  const gpu = engine.gpu;
  const sgMax = gpu?.adapter.info?.subgroupMaxSize ?? 0;
  // The kernel steps through K in blocks of 4 and reads rows of op(b), y and (with transA) op(a)ᵀ as vec4.
  const vec4 = d.k % 4 === 0 && d.n % 4 === 0 && (!transA || d.m % 4 === 0);
  const subgroups = gpu?.device.features.has('subgroups') && 'matmul_subgroup' in shaderSources;
  if (vec4 && subgroups && sgMax > 0 && sgMax <= 256 && d.m >= SG_ROWS / 2) {
    // A multiple of the largest subgroup (the kernel needs whole subgroups), smaller for narrow N.
    let wg = sgMax;
    while (wg < SG_WG && wg * 4 < d.n) wg *= 2;
    const blocks = d.m >= SG_BLOCKS * SG_ROWS ? SG_BLOCKS : 1;
    return {
      kernel: 'matmul_subgroup',
      // LANES = 4 writes the walk over a k-block's lanes out (SwiftShader).
      constants: { WG: wg, BLOCKS: blocks, LANES: fourLaneSubgroups(gpu) ? 4 : 0 },
      tiles: [4 * wg, blocks * SG_ROWS],
    };
  }
  return { kernel: 'matmul', constants: { WX, WY }, tiles: [BLOCK * WX, BLOCK * WY] };
}

function mmCase(
  a: number[],
  b: number[],
  transA = false,
  transB = false,
  extra: Partial<OpCase<MatmulAttrs>> = {},
): OpCase<MatmulAttrs> {
  return { inputs: [{ shape: a }, { shape: b }], attrs: { transA, transB }, ...extra };
}

/** 2-D, 3-D, broadcast, transposed and awkward (1, prime, non-multiple-of-tile) sizes. */
const cases: OpCase<MatmulAttrs>[] = [
  mmCase([1, 1], [1, 1]),
  mmCase([7, 13], [13, 5]),
  mmCase([1, 64], [64, 1]),
  mmCase([11, 3], [3, 17]),
  mmCase([37, 5], [5, 41]),
  mmCase([3, 17, 9], [3, 9, 11]),
  mmCase([2, 5, 4], [4, 3]),
  mmCase([5, 4], [2, 4, 3]),
  mmCase([1, 6, 5], [3, 5, 2]),
  mmCase([3, 6, 5], [1, 5, 2]),
  mmCase([2, 3, 37], [37, 5]),
  mmCase([2, 5, 7], [7, 3], false, false),
  mmCase([2, 7, 5], [7, 3], true, false),
  mmCase([2, 5, 7], [3, 7], false, true),
  mmCase([2, 7, 5], [3, 7], true, true),
  mmCase([6, 7], [4, 7], false, true, { name: 'Linear x·Wᵀ' }),
  mmCase([13, 6], [2, 5, 13], true, true),
  mmCase([1, 9, 4], [3, 9, 5], true, false),
  // Multiples of 4 (matmul_subgroup.wgsl where the device has subgroups), rows not a multiple of its 16-row tile.
  mmCase([3, 20, 12], [3, 12, 36]),
  mmCase([2, 12, 20], [12, 36], true, false),
  mmCase([2, 20, 12], [2, 36, 12], false, true),
  mmCase([12, 20], [2, 36, 12], true, true),
  // 64-row tiles (BLOCKS = 4): M ≥ 64 and not a multiple of 64, every transpose.
  mmCase([2, 76, 12], [2, 12, 20]),
  mmCase([2, 12, 76], [12, 20], true, false),
  mmCase([2, 76, 12], [2, 20, 12], false, true),
  mmCase([12, 76], [2, 20, 12], true, true),
  // K not a multiple of 4 with the other dims multiples of 4: matmul.wgsl.
  mmCase([2, 13, 20], [2, 13, 36], true, false),
  mmCase([2, 20, 13], [2, 36, 13], false, true),
  // Forward only: several tiles in every direction with both transposes, and a batch past one dispatch's limit.
  ...[false, true].flatMap((ta) =>
    [false, true].map((tb) =>
      mmCase([2, ...(ta ? [68, 36] : [36, 68])], [2, ...(tb ? [600, 68] : [68, 600])], ta, tb, {
        noGradCheck: true,
      }),
    ),
  ),
  mmCase([8, 4], [4, 4], false, false, { noGradCheck: true }),
  mmCase([3, 70, 45], [3, 33, 70], true, true, { noGradCheck: true }),
  mmCase([65537, 1, 2], [65537, 2, 1], false, false, { noGradCheck: true }),
  mmCase([1000, 1000], [1000, 1000], false, false, { noGradCheck: true }),
];

export const matmulOp: OpDef<MatmulAttrs, Dims> = {
  name: 'matmul',
  shape([a, b], attrs) {
    const d = dims(a.shape, b.shape, attrs);
    return { outputs: [{ shape: d.out }], plan: d };
  },
  gpu(engine, [a, b], [y], attrs, d) {
    const tex = texturePlan(engine, d, attrs);
    if (tex) return dispatchTexture(engine, a, b, y, d, tex);
    const { kernel, constants, tiles } = plan(engine, d, attrs);
    for (let z0 = 0; z0 < d.batch; z0 += engine.maxWorkgroups)
      engine.dispatch(kernel, {
        bindings: { a, b, y },
        params: { m: d.m, n: d.n, k: d.k, astride: d.astride, bstride: d.bstride, z0 },
        constants: { TRANS_A: Number(attrs.transA), TRANS_B: Number(attrs.transB), ...constants },
        groups: [
          Math.ceil(d.n / tiles[0]),
          Math.ceil(d.m / tiles[1]),
          Math.min(engine.maxWorkgroups, d.batch - z0),
        ],
      });
  },
  cpu([a, b], attrs, { batch, m, n, k, astride, bstride }) {
    const y = new Float64Array(batch * m * n);
    // Row-major (M, K) and (K, N) float64 copies, so the inner loop below runs over contiguous rows.
    const at = new Float64Array(m * k);
    const bt = new Float64Array(k * n);
    for (let z = 0; z < batch; z++) {
      for (let i = 0; i < m; i++)
        for (let p = 0; p < k; p++)
          at[i * k + p] = a.data[z * astride + (attrs.transA ? p * m + i : i * k + p)];
      for (let p = 0; p < k; p++)
        for (let j = 0; j < n; j++)
          bt[p * n + j] = b.data[z * bstride + (attrs.transB ? j * k + p : p * n + j)];
      for (let i = 0; i < m; i++) {
        const yi = y.subarray((z * m + i) * n, (z * m + i + 1) * n);
        for (let p = 0; p < k; p++) {
          const aip = at[i * k + p];
          const bp = bt.subarray(p * n, (p + 1) * n);
          for (let j = 0; j < n; j++) yi[j] += aip * bp[j];
        }
      }
    }
    return [y];
  },
  backward({ inputs: [a, b], dy, attrs: { transA, transB } }) {
    // y = op(a)·op(b); each gradient is one matmul with flags chosen so that it comes out in the operand's
    // stored layout. A shared (broadcast) operand gets the sum over the batch.
    const mm = (x: Tensor, w: Tensor, tx: boolean, tw: boolean) =>
      apply(matmulOp, [x, w], { transA: tx, transB: tw })[0];
    let da: Tensor;
    let db: Tensor;
    if (!transA && !transB) [da, db] = [mm(dy, b, false, true), mm(a, dy, true, false)];
    else if (!transA) [da, db] = [mm(dy, b, false, false), mm(dy, a, true, false)];
    else if (!transB) [da, db] = [mm(b, dy, false, true), mm(a, dy, false, false)];
    else [da, db] = [mm(b, dy, true, true), mm(dy, a, true, true)];
    return [sumToShape(da, a.shape), sumToShape(db, b.shape)];
  },
  cases,
};

/**
 * Matrix product op(a)·op(b), batched, like `torch.matmul(a, b)` (with `a.mT` / `b.mT` when transposed) for
 * 2-D and 3-D operands; float32.
 * @param a (M, K) or (B, M, K); with `transA` (K, M) or (B, K, M).
 * @param b (K, N) or (B, K, N); with `transB` (N, K) or (B, N, K).
 * @returns (M, N), or (B, M, N) when either operand has a batch dim. An operand without a batch dim, or with
 *   batch 1, is shared by every batch item (PyTorch broadcasting); its gradient is summed over the batch.
 * @throws OpError naming `matmul` and both shapes when a rank is not 2 or 3, the K dims differ, or the batch
 *   sizes differ and neither is 1.
 */
export function matmul(a: Tensor, b: Tensor, { transA = false, transB = false } = {}): Tensor {
  const attrs = { transA, transB };
  const d = dims(a.shape, b.shape, attrs);
  if (a.shape.length === 3 && b.shape.length === 2 && !transA) {
    // (B, M, K)·(K, N) is one (B·M, K)·(K, N) product: then the weight gradient comes out as a single
    // product contracting over B·M instead of B products summed afterwards (Linear on (B, L, D) inputs).
    const flat = apply(matmulOp, [reshape(a, [d.batch * d.m, d.k]), b], attrs)[0];
    return reshape(flat, d.out);
  }
  return apply(matmulOp, [a, b], attrs)[0];
}
