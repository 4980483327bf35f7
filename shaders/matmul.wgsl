// y[z] = op(a[z]) · op(b[z]), op = transpose where TRANS_A / TRANS_B; a batch stride of 0 shares an operand
// across the batch. Shapes: a (B, M, K), or (B, K, M) with TRANS_A; b (B, K, N), or (B, N, K) with TRANS_B;
// y (B, M, N). Dispatch: (ceil(N / (8·WX)), ceil(M / (8·WY)), B), batches in chunks from z0. Each thread keeps
// an 8×8 block of y in registers and reads its rows of a and columns of b straight from global memory: no
// workgroup memory and no barriers, since on CPU-emulated adapters (lavapipe) a barrier is expensive and the
// CPU cache already plays the shared tile (2× faster than shared-memory tiling at 512², and an 8×8 block is
// 1.7× faster than 4×4: one load now feeds 8 multiply-adds). The block is written out by hand, not as arrays
// indexed by loop counters: SwiftShader keeps such arrays in memory (10× slower at 512²). The general kernel:
// where the device has subgroups and the dims are multiples of 4, src/ops/matmul.ts runs matmul_subgroup.wgsl
// instead (2.5× faster on lavapipe). Backward: composed from this kernel with the transpose flags in
// src/ops/matmul.ts.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WX: u32 = 4u;
override WY: u32 = 4u;

struct Params { m: u32, n: u32, k: u32, astride: u32, bstride: u32, z0: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Where op(a)[row, 0] is (rows past the edge clamped onto the last one, so that every load is in bounds).
fn aStart(z: u32, row: u32) -> u32 {
  let r = min(row, params.m - 1u);
  return z * params.astride + select(r * params.k, r, TRANS_A);
}

// Where op(b)[0, col] is (columns past the edge clamped likewise).
fn bStart(z: u32, col: u32) -> u32 {
  let c = min(col, params.n - 1u);
  return z * params.bstride + select(c, c * params.k, TRANS_B);
}

// op(b)[k, col .. col + 3] from the four column starts s (k already scaled by b's k stride).
fn bRow(s: vec4u, kb: u32) -> vec4f {
  return vec4f(b[s.x + kb], b[s.y + kb], b[s.z + kb], b[s.w + kb]);
}

// Stores row `row` of the block, columns col0 .. col0 + 7, skipping those past the edge.
fn storeRow(z: u32, row: u32, col0: u32, lo: vec4f, hi: vec4f) {
  if (row >= params.m) { return; }
  let base = (z * params.m + row) * params.n;
  for (var j = 0u; j < 8u; j++) {
    if (col0 + j < params.n) { y[base + col0 + j] = select(lo[j % 4u], hi[j % 4u], j >= 4u); }
  }
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let z = wid.z + params.z0;
  let row0 = gid.y * 8u;
  let col0 = gid.x * 8u;
  if (row0 >= params.m || col0 >= params.n) { return; }
  let a0 = aStart(z, row0);
  let a1 = aStart(z, row0 + 1u);
  let a2 = aStart(z, row0 + 2u);
  let a3 = aStart(z, row0 + 3u);
  let a4 = aStart(z, row0 + 4u);
  let a5 = aStart(z, row0 + 5u);
  let a6 = aStart(z, row0 + 6u);
  let a7 = aStart(z, row0 + 7u);
  let blo = vec4u(bStart(z, col0), bStart(z, col0 + 1u), bStart(z, col0 + 2u), bStart(z, col0 + 3u));
  let bhi = vec4u(bStart(z, col0 + 4u), bStart(z, col0 + 5u), bStart(z, col0 + 6u), bStart(z, col0 + 7u));
  let sa = select(1u, params.m, TRANS_A);
  let sb = select(params.n, 1u, TRANS_B);
  // Row i of the block: columns 0-3 in yil, 4-7 in yih.
  var y0l = vec4f(0.0); var y0h = vec4f(0.0);
  var y1l = vec4f(0.0); var y1h = vec4f(0.0);
  var y2l = vec4f(0.0); var y2h = vec4f(0.0);
  var y3l = vec4f(0.0); var y3h = vec4f(0.0);
  var y4l = vec4f(0.0); var y4h = vec4f(0.0);
  var y5l = vec4f(0.0); var y5h = vec4f(0.0);
  var y6l = vec4f(0.0); var y6h = vec4f(0.0);
  var y7l = vec4f(0.0); var y7h = vec4f(0.0);
  var ka = 0u;
  var kb = 0u;
  for (var kk = 0u; kk < params.k; kk++) {
    let bl = bRow(blo, kb);
    let bh = bRow(bhi, kb);
    var av = vec4f(a[a0 + ka]);
    y0l = fma(av, bl, y0l); y0h = fma(av, bh, y0h);
    av = vec4f(a[a1 + ka]);
    y1l = fma(av, bl, y1l); y1h = fma(av, bh, y1h);
    av = vec4f(a[a2 + ka]);
    y2l = fma(av, bl, y2l); y2h = fma(av, bh, y2h);
    av = vec4f(a[a3 + ka]);
    y3l = fma(av, bl, y3l); y3h = fma(av, bh, y3h);
    av = vec4f(a[a4 + ka]);
    y4l = fma(av, bl, y4l); y4h = fma(av, bh, y4h);
    av = vec4f(a[a5 + ka]);
    y5l = fma(av, bl, y5l); y5h = fma(av, bh, y5h);
    av = vec4f(a[a6 + ka]);
    y6l = fma(av, bl, y6l); y6h = fma(av, bh, y6h);
    av = vec4f(a[a7 + ka]);
    y7l = fma(av, bl, y7l); y7h = fma(av, bh, y7h);
    ka += sa;
    kb += sb;
  }
  storeRow(z, row0, col0, y0l, y0h);
  storeRow(z, row0 + 1u, col0, y1l, y1h);
  storeRow(z, row0 + 2u, col0, y2l, y2h);
  storeRow(z, row0 + 3u, col0, y3l, y3h);
  storeRow(z, row0 + 4u, col0, y4l, y4h);
  storeRow(z, row0 + 5u, col0, y5l, y5h);
  storeRow(z, row0 + 6u, col0, y6l, y6h);
  storeRow(z, row0 + 7u, col0, y7l, y7h);
}
