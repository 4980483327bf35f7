// o[b, i] = Σ_j drop(P[b, i, j]) v[b, j] and lse[b, i] = log Σ_j exp(s̃[b, i, j]), exactly as
// shaders/sdpa_forward.wgsl (same bindings, params, masking, dropout hash and lse), for GPUs (the hardware kernel
// set): FlashAttention-2's forward (Dao 2023, algorithm 1) with k and v tiles staged in workgroup memory.
// s̃ = scale·q·k at valid keys (j < len, j ≤ i when CAUSAL), −1e6 elsewhere (d2l: a row without valid keys is
// uniform over all S keys).
// Shapes: q (B, L, D), k (B, S, D), v (B, S, DV), o (B, L, DV) as rows of D4 = D/4 or DV4 = DV/4 vec4, D and DV up
// to 4·MAXD4 = 128; lens (B) or (B, L) int32 (lens_rows = L / 1; 0: an unread stand-in); lse (B, L).
// Dispatch: (ceil(L / BR), B folded into y·z), WG = 4·BR ≤ 256 threads. A workgroup owns BR query rows of one batch
// item; TPR = 4 threads share a row, thread t holding the vec4 columns c ≡ t (mod 4) of its q row and of its o
// accumulator (8 + 8 vec4 at D = DV = 128, and 2·BC scores: 80 private scalars, not the 272 of one thread per row),
// so each key step reads 4 adjacent vec4 of the k / v tile per row (conflict-free; the rows of a subgroup read the
// same ones, a broadcast). Per tile of BC = 8 keys: the WG threads copy the k tile (one contiguous BC·D4 stretch of
// k: coalesced), barrier; each thread dots its q columns with the BC keys and writes the BC partial sums to `part`
// while the v tile is copied, barrier; each thread sums its row's 4 partials, masks, and updates the running max m
// and sum l and its accumulator columns (the 4 threads of a row repeat the same softmax arithmetic rather than
// exchange it). Two barriers per tile suffice: a tile's k is last read before the second barrier, its v and part
// after it and before the next tile's first barrier. Workgroup memory at WG = 256: k 4096 + v 4096 + part 8192 =
// 16384 bytes (WebGPU's default limit). Keys past the last one any row of the block needs only add
// exp(−1e6 − m) = 0, so the key loop stops there (a bound every thread computes alike, keeping the barriers in
// uniform control flow).
// Backward: shaders/sdpa_backward_delta, _dq and _dkdv.wgsl, or their hardware-set kernels (src/ops/sdpa_plans.ts).
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, rowLen, keysNeededMax from "lib/sdpa.wgsl"
override WG: u32 = 256u;
// Threads per query row, keys per tile, and the vec4 columns a thread holds (MAXD4 / TPR): consts because they size
// private arrays and keep the loops over them unrolled (indexed registers, no local-memory spills).
const TPR = 4u;
const BC = 8u;
const CPT = 8u;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read_write> o: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// Key jj of the tile, column c at [jj·D4 + c] (kt) or [jj·DV4 + c] (vt); part[jj·BR + r][t]: thread t's partial
// q·k of row r (key-major so that a subgroup's writes hit consecutive words).
var<workgroup> kt: array<vec4f, BC * MAXD4>;
var<workgroup> vt: array<vec4f, BC * MAXD4>;
var<workgroup> part: array<vec4f, BC * (WG / TPR)>;

// Copy `count` ≤ BC rows of w4 vec4, from flat row `first` on, into the tile; zeros fill the rows past S.
fn loadK(lid: u32, first: u32, count: u32, w4: u32) {
  for (var e = lid; e < BC * w4; e += WG) {
    var x = vec4f(0.0);
    if (e < count * w4) { x = k[first * w4 + e]; }
    kt[e] = x;
  }
}

fn loadV(lid: u32, first: u32, count: u32, w4: u32) {
  for (var e = lid; e < BC * w4; e += WG) {
    var x = vec4f(0.0);
    if (e < count * w4) { x = v[first * w4 + e]; }
    vt[e] = x;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let L = params.l;
  let S = params.s;
  let D4 = params.d4;
  let DV4 = params.dv4;
  let BR = WG / TPR;
  let b = wid.y + wid.z * nwg.y;
  // Uniform per workgroup, so returning here keeps the barriers below in uniform control flow.
  if (b >= params.batch) { return; }
  let i0 = wid.x * BR;
  let r = lid.x / TPR;
  let t = lid.x % TPR;
  let i = i0 + r;
  let ir = min(i, L - 1u);
  let len = rowLen(b, ir);
  // Every thread walks the block's rows itself (lens is read-only storage, so n is uniform to the compiler too).
  let n = keysNeededMax(b, i0, min(i0 + BR, L), S);

  var qr: array<vec4f, CPT>;
  var acc: array<vec4f, CPT>;
  for (var cc = 0u; cc < CPT; cc++) {
    let c = t + cc * TPR;
    var x = vec4f(0.0);
    if (c < D4) { x = q[(b * L + ir) * D4 + c]; }
    qr[cc] = x;
    acc[cc] = vec4f(0.0);
  }
  var m = NEG;
  var l = 0.0;
  // Declared outside the loop and fully written before read: lavapipe miscompiles the zero-init of loop-local arrays.
  var s: array<f32, BC>;
  var p: array<f32, BC>;
  let hseed = pcg(params.seed);
  for (var j0 = 0u; j0 < n; j0 += BC) {
    let first = b * S + j0;
    let count = min(BC, S - j0);
    loadK(lid.x, first, count, D4);
    workgroupBarrier();
    for (var jj = 0u; jj < BC; jj++) {
      var a = 0.0;
      for (var cc = 0u; cc < CPT; cc++) {
        let c = t + cc * TPR;
        if (c < D4) { a += dot(qr[cc], kt[jj * D4 + c]); }
      }
      part[jj * BR + r][t] = a;
    }
    loadV(lid.x, first, count, DV4);
    workgroupBarrier();
    var mt = m;
    for (var jj = 0u; jj < BC; jj++) {
      let j = j0 + jj;
      let pv = part[jj * BR + r];
      let valid = i32(j) < len && (!CAUSAL || j <= ir);
      s[jj] = select(MASKED, (pv.x + pv.y + pv.z + pv.w) * params.scale, valid);
      if (j < n) { mt = max(mt, s[jj]); }
    }
    let alpha = exp(m - mt);
    var sum = l * alpha;
    for (var jj = 0u; jj < BC; jj++) {
      let j = j0 + jj;
      var pt = select(0.0, exp(s[jj] - mt), j < n);
      sum += pt;
      if (DROPOUT) {
        let u = hash_uniform(((b * L + ir) * S + j), hseed);
        pt = select(0.0, pt * params.drop_scale, u >= params.p);
      }
      p[jj] = pt;
    }
    l = sum;
    m = mt;
    for (var cc = 0u; cc < CPT; cc++) {
      let c = t + cc * TPR;
      if (c < DV4) {
        var a = acc[cc] * alpha;
        for (var jj = 0u; jj < BC; jj++) { a += p[jj] * vt[jj * DV4 + c]; }
        acc[cc] = a;
      }
    }
  }
  if (i < L) {
    let row = b * L + i;
    let il = 1.0 / l;
    for (var cc = 0u; cc < CPT; cc++) {
      let c = t + cc * TPR;
      if (c < DV4) { o[row * DV4 + c] = acc[cc] * il; }
    }
    if (t == 0u) { lse[row] = m + log(l); }
  }
}
