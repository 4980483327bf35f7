// dq[b, i] = scale·Σ_j dS[b, i, j] k[b, j], exactly as sdpa_backward_dq.wgsl computes it (same bindings, params,
// masks and dropout hash), for GPUs (the hardware kernel set): FlashAttention-2's backward (Dao 2023, algorithm 2)
// for one block of query rows, with P = exp(s̃ − lse) recomputed from q, k and the forward's lse.
// dS = P ⊙ (dP − delta_i) at valid keys (j < len_{b,i}, and j ≤ i when CAUSAL), exactly 0 at masked ones (their
// score was a constant), so a row without any valid key gets dq = 0; dP = keep·drop_scale·(dy[b, i]·v[b, j]) with
// keep hashed as in sdpa_forward.wgsl on (b·L + i)·S + j; delta = rowsum(dy ∘ o) from sdpa_backward_delta.wgsl.
// Shapes: q, dq (B, L, D), k (B, S, D), v (B, S, DV), dy (B, L, DV) as rows of D4 = D/4 or DV4 = DV/4 vec4
// (D, DV ≤ 128), lens (B) or (B, L) int32 (lens_rows = L / 1; 0: an unread stand-in), stats (B, L, 2) = (lse, delta).
// Dispatch: (ceil(L / R), B folded into y·z); R·T = 128 threads. A workgroup owns R = 16 query rows; row r is split
// over T = 8 threads (thread t holds vec4 columns t, t + T, … of its q, dy and dq: 3 × 4 vec4 = 48 scalars). It
// walks the keys in tiles of BT = 8, each in four phases between barriers: (0) all threads copy the tile's k and v
// rows into workgroup memory, coalesced; (1) each thread dots its column slice with every tile row, for s̃ and
// dP = dy·v, and writes the partial sums; (2) thread t of query row r adds up the T partials of key t (through
// workgroup memory, so that no subgroup feature is needed) and turns them into dS; (3) each thread accumulates
// dS·k over the tile into its columns. Keys past the last valid one of every row of the workgroup are skipped
// (a uniform bound: it reads only params and lens). Workgroup memory: k and v tiles 2 × 8 × 32 × 16 + partials
// 16 × 8 × 8 × 8 = 16384 bytes, WebGPU's default limit. Forward: sdpa_forward_tiled.wgsl; the software-set twin:
// sdpa_backward_dq.wgsl.
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, rowLen, keysNeededMax from "lib/sdpa.wgsl"
// Fixed because they size the workgroup and private arrays: head dims up to 4·MAXD4 = 128 (lib/sdpa.wgsl), T threads per query
// row holding NC vec4 of each row vector, R query rows per workgroup, BT keys per tile. Phase 2 gives thread t key t
// of the tile, so BT = T.
const T = 8u;
const NC = MAXD4 / T;
const R = 16u;
const BT = T;
const NT = R * T;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read> dy: array<vec4f>;
@group(0) @binding(5) var<storage, read> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(7) var<uniform> params: Params;

// Tile row x at x·MAXD4 (keys past S are zeros).
var<workgroup> kt: array<vec4f, BT * MAXD4>;
var<workgroup> vt: array<vec4f, BT * MAXD4>;
// Phase 1 writes (s̃, dP) partials of (key x, query row r, thread t) at (x·R + r)·T + t; phase 2 overwrites slot
// (x·R + r)·T with dS.
var<workgroup> red: array<vec2f, BT * R * T>;

// The tile's rows of k and v lie contiguous in memory: consecutive threads copy consecutive vec4.
fn loadTile(b: u32, j0: u32, lid: u32) {
  let rows = min(BT, params.s - j0);
  let D4 = params.d4;
  let DV4 = params.dv4;
  for (var e = lid; e < BT * D4; e += NT) {
    let x = e / D4;
    var val = vec4f(0.0);
    if (x < rows) { val = k[(b * params.s + j0) * D4 + e]; }
    kt[x * MAXD4 + e % D4] = val;
  }
  for (var e = lid; e < BT * DV4; e += NT) {
    let x = e / DV4;
    var val = vec4f(0.0);
    if (x < rows) { val = v[(b * params.s + j0) * DV4 + e]; }
    vt[x * MAXD4 + e % DV4] = val;
  }
}

@compute @workgroup_size(NT)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let L = params.l;
  let S = params.s;
  let D4 = params.d4;
  let DV4 = params.dv4;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let r = lid / T;
  let t = lid % T;
  let i0 = wid.x * R;
  let i = i0 + r;
  // One key bound for the whole workgroup keeps every thread's loop (and barrier count) the same.
  let n = keysNeededMax(b, i0, min(i0 + R, L), 0u);
  // Rows past L compute on a copy of row L − 1 and are never stored.
  let row = b * L + min(i, L - 1u);
  let len = rowLen(b, min(i, L - 1u));
  let st = stats[row];
  // Columns past D4 (DV4) stay zero, so their products with the tiles add nothing.
  var qr: array<vec4f, NC>;
  var dyr: array<vec4f, NC>;
  var acc: array<vec4f, NC>;
  for (var m = 0u; m < NC; m++) {
    let c = t + m * T;
    qr[m] = vec4f(0.0);
    dyr[m] = vec4f(0.0);
    acc[m] = vec4f(0.0);
    if (c < D4) { qr[m] = q[row * D4 + c]; }
    if (c < DV4) { dyr[m] = dy[row * DV4 + c]; }
  }
  let hseed = pcg(params.seed);
  for (var j0 = 0u; j0 < n; j0 += BT) {
    // The previous tile's phase 3 has finished reading kt and red.
    workgroupBarrier();
    loadTile(b, j0, lid);
    workgroupBarrier();
    for (var x = 0u; x < BT; x++) {
      var s = 0.0;
      var dp = 0.0;
      for (var m = 0u; m < NC; m++) {
        let c = t + m * T;
        if (c < D4) { s += dot(qr[m], kt[x * MAXD4 + c]); }
        if (c < DV4) { dp += dot(dyr[m], vt[x * MAXD4 + c]); }
      }
      red[(x * R + r) * T + t] = vec2f(s, dp);
    }
    workgroupBarrier();
    {
      let j = j0 + t;
      let slot = (t * R + r) * T;
      var sd = vec2f(0.0);
      // Starting at partial t spreads the 8 threads of a query row over different banks.
      for (var u = 0u; u < T; u++) { sd += red[slot + (u + t) % T]; }
      let valid = i < L && j < S && i32(j) < len && (!CAUSAL || j <= i);
      var g = sd.y;
      if (DROPOUT) {
        let u = hash_uniform(((b * L + i) * S + j), hseed);
        g = select(0.0, g * params.drop_scale, u >= params.p);
      }
      // Only this thread reads or writes this slot in phase 2.
      red[slot] = vec2f(select(0.0, exp(sd.x * params.scale - st.x) * (g - st.y), valid), 0.0);
    }
    workgroupBarrier();
    for (var x = 0u; x < BT; x++) {
      let ds = red[(x * R + r) * T].x;
      for (var m = 0u; m < NC; m++) {
        let c = t + m * T;
        if (c < D4) { acc[m] += ds * kt[x * MAXD4 + c]; }
      }
    }
  }
  if (i < L) {
    for (var m = 0u; m < NC; m++) {
      let c = t + m * T;
      if (c < D4) { dq[(b * L + i) * D4 + c] = acc[m] * params.scale; }
    }
  }
}
