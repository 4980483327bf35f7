// dk[b, j] = scale·Σ_i dS[b, i, j] q[b, i] and dv[b, j] = Σ_i P̃[b, i, j] dy[b, i], exactly as
// sdpa_backward_dkdv.wgsl computes them (same bindings, params, masks, uniform rows and dropout hash), for GPUs (the
// hardware kernel set): FlashAttention-2's backward (Dao 2023, algorithm 2) for one block of key rows, with P
// recomputed as exp(s̃ − lse) from q, k and the forward's lse. s̃ = scale·q[b, i]·k[b, j] where key j is valid for
// row i (j < len_{b,i}, and j ≤ i when CAUSAL); P = 0 at masked keys, except in a row without any valid key, which
// d2l makes uniform: P = 1/S set directly. P̃ = keep·drop_scale·P; dS = P ⊙ (keep·drop_scale·(dy[b, i]·v[b, j]) −
// delta_i) at valid keys and exactly 0 at masked ones; keep hashed as in sdpa_forward.wgsl on (b·L + i)·S + j.
// Shapes: q (B, L, D), k, dk (B, S, D), v, dv (B, S, DV), dy (B, L, DV) as rows of D4 = D/4 or DV4 = DV/4 vec4
// (D, DV ≤ 128), lens (B) or (B, L) int32 (lens_rows = L / 1; 0: an unread stand-in), stats (B, L, 2) = (lse, delta)
// from sdpa_backward_delta.wgsl.
// Dispatch: (ceil(S / R), B folded into y·z); R·T = 128 threads. A workgroup owns R = 16 key rows; row r is split
// over T = 8 threads (thread t holds vec4 columns t, t + T, … of its k, v, dk and dv: 4 × 4 vec4 = 64 scalars, not
// the 4 × 128 a whole row would need). It walks the query rows in tiles of BT = 8, each in four phases between
// barriers: (0) all threads copy the tile's q and dy rows into workgroup memory, coalesced; (1) each thread dots
// its column slice with every tile row, for s̃ and dP = dy·v, and writes the partial sums; (2) thread t of key row r
// adds up the T partials of query t (the reduction a subgroup would do, through workgroup memory so that no
// feature is needed) and turns them into P̃ and dS; (3) each thread accumulates P̃·dy and dS·q over the tile into
// its columns. The T threads of a row read T consecutive vec4 of a tile row, the same ones for every key row: one
// conflict-free broadcast. Tiles that give no key of the workgroup a weight are skipped (uniformly: the test reads
// only params and lens). Workgroup memory: q and dy tiles 2 × 8 × 32 × 16 + partials 16 × 8 × 8 × 8 = 16384 bytes,
// WebGPU's default limit. Forward: sdpa_forward_tiled.wgsl; the software-set twin: sdpa_backward_dkdv.wgsl.
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, rowLen, keysNeeded, rowNeeded from "lib/sdpa.wgsl"
// Fixed because they size the workgroup and private arrays: head dims up to 4·MAXD4 = 128 (lib/sdpa.wgsl), T threads per key row
// holding NC vec4 of each row vector, R key rows per workgroup, BT query rows per tile. Phase 2 gives thread t
// query t of the tile, so BT = T.
const T = 8u;
const NC = MAXD4 / T;
const R = 16u;
const BT = T;
const NT = R * T;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read> dy: array<vec4f>;
@group(0) @binding(5) var<storage, read> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4f>;
@group(0) @binding(8) var<uniform> params: Params;

// Tile row x at x·MAXD4 (rows past L are zeros).
var<workgroup> qt: array<vec4f, BT * MAXD4>;
var<workgroup> dyt: array<vec4f, BT * MAXD4>;
// Phase 1 writes (s̃, dP) partials of (query x, key row r, thread t) at (x·R + r)·T + t; phase 2 overwrites slot
// (x·R + r)·T with (P̃, dS).
var<workgroup> red: array<vec2f, BT * R * T>;

// Whether any row of the tile starting at i0 gives a key ≥ j0 a weight.
fn tileNeeded(b: u32, i0: u32, j0: u32) -> bool {
  let i1 = min(i0 + BT, params.l);
  if (params.lens_rows != 1u) {
    // One length for all rows: only the causal bound depends on i, and the last row reaches furthest.
    return rowNeeded(rowLen(b, i0), i1 - 1u, j0);
  }
  for (var i = i0; i < i1; i++) {
    if (rowNeeded(rowLen(b, i), i, j0)) { return true; }
  }
  return false;
}

// The tile's rows of q and dy lie contiguous in memory: consecutive threads copy consecutive vec4.
fn loadTile(b: u32, i0: u32, lid: u32) {
  let rows = min(BT, params.l - i0);
  let D4 = params.d4;
  let DV4 = params.dv4;
  for (var e = lid; e < BT * D4; e += NT) {
    let x = e / D4;
    var val = vec4f(0.0);
    if (x < rows) { val = q[(b * params.l + i0) * D4 + e]; }
    qt[x * MAXD4 + e % D4] = val;
  }
  for (var e = lid; e < BT * DV4; e += NT) {
    let x = e / DV4;
    var val = vec4f(0.0);
    if (x < rows) { val = dy[(b * params.l + i0) * DV4 + e]; }
    dyt[x * MAXD4 + e % DV4] = val;
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
  let j0 = wid.x * R;
  let j = j0 + r;
  // Rows past S compute on a copy of row S − 1 and are never stored.
  let key = b * S + min(j, S - 1u);
  // Columns past D4 (DV4) stay zero, so their products with the tiles add nothing.
  var kr: array<vec4f, NC>;
  var vr: array<vec4f, NC>;
  var dka: array<vec4f, NC>;
  var dva: array<vec4f, NC>;
  for (var m = 0u; m < NC; m++) {
    let c = t + m * T;
    kr[m] = vec4f(0.0);
    vr[m] = vec4f(0.0);
    dka[m] = vec4f(0.0);
    dva[m] = vec4f(0.0);
    if (c < D4) { kr[m] = k[key * D4 + c]; }
    if (c < DV4) { vr[m] = v[key * DV4 + c]; }
  }
  let hseed = pcg(params.seed);
  let even = 1.0 / f32(S);
  for (var i0 = 0u; i0 < L; i0 += BT) {
    if (!tileNeeded(b, i0, j0)) { continue; }
    // The previous tile's phase 3 has finished reading qt, dyt and red.
    workgroupBarrier();
    loadTile(b, i0, lid);
    workgroupBarrier();
    for (var x = 0u; x < BT; x++) {
      var s = 0.0;
      var dp = 0.0;
      for (var m = 0u; m < NC; m++) {
        let c = t + m * T;
        if (c < D4) { s += dot(kr[m], qt[x * MAXD4 + c]); }
        if (c < DV4) { dp += dot(vr[m], dyt[x * MAXD4 + c]); }
      }
      red[(x * R + r) * T + t] = vec2f(s, dp);
    }
    workgroupBarrier();
    {
      let i = i0 + t;
      let slot = (t * R + r) * T;
      var sd = vec2f(0.0);
      // Starting at partial t spreads the 8 threads of a key row over different banks.
      for (var u = 0u; u < T; u++) { sd += red[slot + (u + t) % T]; }
      let ic = min(i, L - 1u);
      let len = rowLen(b, ic);
      let st = stats[b * L + ic];
      let valid = i < L && j < S && i32(j) < len && (!CAUSAL || j <= i);
      var w = select(0.0, exp(sd.x * params.scale - st.x), valid);
      w = select(w, even, i < L && len <= 0);
      var f = 1.0;
      if (DROPOUT) {
        let u = hash_uniform(((b * L + i) * S + j), hseed);
        f = select(0.0, params.drop_scale, u >= params.p);
      }
      // Only this thread reads or writes this slot in phase 2.
      red[slot] = vec2f(w * f, select(0.0, w, valid) * (sd.y * f - st.y));
    }
    workgroupBarrier();
    for (var x = 0u; x < BT; x++) {
      let pds = red[(x * R + r) * T];
      for (var m = 0u; m < NC; m++) {
        let c = t + m * T;
        if (c < DV4) { dva[m] += pds.x * dyt[x * MAXD4 + c]; }
        if (c < D4) { dka[m] += pds.y * qt[x * MAXD4 + c]; }
      }
    }
  }
  if (j < S) {
    for (var m = 0u; m < NC; m++) {
      let c = t + m * T;
      if (c < D4) { dk[(b * S + j) * D4 + c] = dka[m] * params.scale; }
      if (c < DV4) { dv[(b * S + j) * DV4 + c] = dva[m]; }
    }
  }
}
