// y[z] = op(a[z]) · op(b[z]), op = transpose where TRANS_A / TRANS_B; a batch stride of 0 shares an operand
// across the batch. Shapes: a (B, M, K), or (B, K, M) with TRANS_A; b (B, K, N), or (B, N, K) with TRANS_B;
// y (B, M, N). Dispatch: (ceil(N / (RN·WX)), ceil(M / (RM·WY)), B), batches in chunks from z0. Each thread keeps
// an RM×RN block of y in registers and reads its rows of a and columns of b straight from global memory: no
// workgroup memory and no barriers, since on CPU-emulated adapters (lavapipe) a barrier is expensive and the
// CPU cache already plays the shared tile (2× faster than shared-memory tiling at 512², and an 8×8 block is
// 1.7× faster than 4×4: one load now feeds 8 multiply-adds). Backward: composed from this kernel with the
// transpose flags in src/ops/matmul.ts.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WX: u32 = 4u;
override WY: u32 = 4u;
// The register block sizes the accumulator array, which must be a creation-time constant, not an override.
const RM = 8u;
const RN = 8u;

struct Params { m: u32, n: u32, k: u32, astride: u32, bstride: u32, z0: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let M = params.m;
  let N = params.n;
  let K = params.k;
  let z = wid.z + params.z0;
  let row0 = gid.y * RM;
  let col0 = gid.x * RN;
  if (row0 >= M || col0 >= N) { return; }
  // op(a)[m, k] = a[ia[m] + k·sa], op(b)[k, n] = b[ib[n] + k·sb]. Rows and columns past the edge are clamped
  // onto the last one, so every load is in bounds without a branch in the k loop; they are just not stored.
  var ia: array<u32, RM>;
  var ib: array<u32, RN>;
  for (var i = 0u; i < RM; i++) {
    let r = min(row0 + i, M - 1u);
    ia[i] = z * params.astride + select(r * K, r, TRANS_A);
  }
  for (var j = 0u; j < RN; j++) {
    let c = min(col0 + j, N - 1u);
    ib[j] = z * params.bstride + select(c, c * K, TRANS_B);
  }
  let sa = select(1u, M, TRANS_A);
  let sb = select(N, 1u, TRANS_B);
  var acc: array<array<vec4f, RN / 4u>, RM>;
  var ka = 0u;
  var kb = 0u;
  for (var kk = 0u; kk < K; kk++) {
    var bv: array<vec4f, RN / 4u>;
    for (var j = 0u; j < RN / 4u; j++) {
      let c = 4u * j;
      bv[j] = vec4f(b[ib[c] + kb], b[ib[c + 1u] + kb], b[ib[c + 2u] + kb], b[ib[c + 3u] + kb]);
    }
    for (var i = 0u; i < RM; i++) {
      let av = a[ia[i] + ka];
      for (var j = 0u; j < RN / 4u; j++) { acc[i][j] += av * bv[j]; }
    }
    ka += sa;
    kb += sb;
  }
  for (var i = 0u; i < RM; i++) {
    let r = row0 + i;
    if (r >= M) { break; }
    let base = (z * M + r) * N;
    for (var j = 0u; j < RN; j++) {
      if (col0 + j >= N) { break; }
      y[base + col0 + j] = acc[i][j / 4u][j % 4u];
    }
  }
}
