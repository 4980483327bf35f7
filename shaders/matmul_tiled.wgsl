// y[z] = op(a[z]) · op(b[z]) as shaders/matmul.wgsl computes it (op = transpose where TRANS_A / TRANS_B, a batch
// stride of 0 shares an operand), for GPUs (the hardware kernel set): output tiles staged through workgroup memory,
// the design of TF.js's matmul_packed, jax-js's WebGPU matmul and wgpu-mm.
// Shapes: a (B, M, K), or (B, K, M) with TRANS_A; b (B, K, N), or (B, N, K) with TRANS_B; y (B, M, N); any M, N,
// K ≥ 1. Dispatch: (ceil(N / 64), ceil(M / 64), B), batches in chunks from z0; 16×16 threads per workgroup.
// A workgroup owns a 64×64 tile of y and walks K in steps of 16: its 256 threads copy a 64×16 slice of op(a) and a
// 16×64 slice of op(b) into workgroup memory (4 values each, zeros past the edges, so the inner loop needs no
// bounds checks), then each thread accumulates a 4×4 block from them: 16 multiply-adds per 8 shared loads instead
// of 2 global loads per multiply-add. Thread (tx, ty) owns rows ty + 16i and columns tx + 16j (i, j < 4), not a
// contiguous block: then the 16 lanes of a row read 16 consecutive words of the b tile (no bank conflict; the a
// value is one broadcast word) and store 16 consecutive floats of y (coalesced). Global loads are coalesced in all
// four transpose cases: consecutive threads walk whichever dim is contiguous in memory (M or N where the operand
// is stored with it last, else K). Both tiles are stored k-major, a row of 64 padded to 66 words: the K-contiguous
// case writes one column of 16 k per 16 threads, and a row stride of 66 ≡ 2 (mod 32 banks) spreads a warp's 32
// writes over all 32 banks (68 would put two on each). Workgroup memory: 2 × 16 × 66 × 4 = 8448 bytes (WebGPU's
// default limit is 16384; a K step of 32 would need 16896). Scalar loads only: vec4 bindings would need every
// dim a multiple of 4 and whole-vec4 writes. Backward: composed from matmul with the transpose flags in
// src/ops/matmul.ts.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

// Output tile (TILE × TILE), threads per side (TILE / 4), K step; fixed because they size the workgroup arrays.
const TILE = 64u;
const THREADS = 16u;
const TK = 16u;
// Row stride of the shared tiles: TILE + 2 (see the header on banks).
const LDS = 66u;

struct Params { m: u32, n: u32, k: u32, astride: u32, bstride: u32, z0: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// op(a)[row0 + r, k0 + kk] at aTile[kk·LDS + r]; op(b)[k0 + kk, col0 + c] at bTile[kk·LDS + c].
var<workgroup> aTile: array<f32, TK * LDS>;
var<workgroup> bTile: array<f32, TK * LDS>;

// Copies op(a)[row0 .. row0 + 63, k0 .. k0 + 15] into aTile, 4 values per thread, zeros past M and K.
fn loadA(z: u32, row0: u32, k0: u32, lid: u32) {
  for (var i = 0u; i < 4u; i++) {
    var r: u32;
    var kk: u32;
    if (TRANS_A) {
      // a is stored (K, M): consecutive threads take consecutive rows of op(a), 64 per k.
      r = lid % TILE;
      kk = lid / TILE + 4u * i;
    } else {
      // a is stored (M, K): consecutive threads take consecutive k, 16 per row.
      kk = lid % TK;
      r = lid / TK + 16u * i;
    }
    let gr = row0 + r;
    let gk = k0 + kk;
    var v = 0.0;
    if (gr < params.m && gk < params.k) {
      v = a[z * params.astride + select(gr * params.k + gk, gk * params.m + gr, TRANS_A)];
    }
    aTile[kk * LDS + r] = v;
  }
}

// Copies op(b)[k0 .. k0 + 15, col0 .. col0 + 63] into bTile, 4 values per thread, zeros past K and N.
fn loadB(z: u32, col0: u32, k0: u32, lid: u32) {
  for (var i = 0u; i < 4u; i++) {
    var c: u32;
    var kk: u32;
    if (TRANS_B) {
      // b is stored (N, K): consecutive threads take consecutive k, 16 per column.
      kk = lid % TK;
      c = lid / TK + 16u * i;
    } else {
      // b is stored (K, N): consecutive threads take consecutive columns, 64 per k.
      c = lid % TILE;
      kk = lid / TILE + 4u * i;
    }
    let gc = col0 + c;
    let gk = k0 + kk;
    var v = 0.0;
    if (gc < params.n && gk < params.k) {
      v = b[z * params.bstride + select(gk * params.n + gc, gc * params.k + gk, TRANS_B)];
    }
    bTile[kk * LDS + c] = v;
  }
}

// Stores row `row` of the thread's block: columns col, col + 16, col + 32, col + 48, skipping those past the edge.
fn storeRow(z: u32, row: u32, col: u32, v: vec4f) {
  if (row >= params.m) { return; }
  let base = (z * params.m + row) * params.n;
  for (var j = 0u; j < 4u; j++) {
    let c = col + THREADS * j;
    if (c < params.n) { y[base + c] = v[j]; }
  }
}

@compute @workgroup_size(THREADS, THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let z = wid.z + params.z0;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tx = local.x;
  let ty = local.y;
  // Row i of the block (row ty + 16i), its columns tx + 16j in the components.
  var y0 = vec4f(0.0);
  var y1 = vec4f(0.0);
  var y2 = vec4f(0.0);
  var y3 = vec4f(0.0);
  // Every thread of the workgroup runs every step (no early exit for threads past the edge): the barriers need
  // all of them, and their zero-padded loads are part of the tile.
  for (var k0 = 0u; k0 < params.k; k0 += TK) {
    loadA(z, row0, k0, lid);
    loadB(z, col0, k0, lid);
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let s = kk * LDS;
      let av = vec4f(aTile[s + ty], aTile[s + ty + THREADS], aTile[s + ty + 2u * THREADS], aTile[s + ty + 3u * THREADS]);
      let bv = vec4f(bTile[s + tx], bTile[s + tx + THREADS], bTile[s + tx + 2u * THREADS], bTile[s + tx + 3u * THREADS]);
      y0 = fma(vec4f(av.x), bv, y0);
      y1 = fma(vec4f(av.y), bv, y1);
      y2 = fma(vec4f(av.z), bv, y2);
      y3 = fma(vec4f(av.w), bv, y3);
    }
    // The next step overwrites the tiles: wait until every thread has read them.
    workgroupBarrier();
  }
  let row = row0 + ty;
  let col = col0 + tx;
  storeRow(z, row, col, y0);
  storeRow(z, row + THREADS, col, y1);
  storeRow(z, row + 2u * THREADS, col, y2);
  storeRow(z, row + 3u * THREADS, col, y3);
}
