// shaders/sdpa_backward_dkdv.wgsl (same math, bindings and params; see there) for the software kernel set on devices
// with subgroups of at least 4 lanes and head dims up to 64, set as the pipeline constants HEAD_D4 and HEAD_DV4.
// Each thread owns ROWS keys, their k and v rows and their dk and dv sums held in named variables (lib/sdpa_rows.wgsl:
// no private array indexed by a loop counter, which lavapipe gathers per lane and SwiftShader keeps in memory), and
// walks the query rows one at a time (in blocks of 4 with QUERIES_WRITTEN): every lane needs the same q and dy row,
// which rowShared loads 2 (4 on 4-lane subgroups) vec4 per lane and hands round by subgroupBroadcast. No (B, L, S)
// buffer, no workgroup memory, no barriers.
// Dispatch: (ceil(S / (WG·ROWS)), B) folded as the other sdpa kernels (src/ops/sdpa_plans.ts).
enable subgroups;
// #import pcg, hash_uniform, hash_uniform4 from "lib/hash.wgsl"
// #import Params, HEAD_D4, HEAD_DV4, rowLen, lenPerItem, rowsNeeded from "lib/sdpa.wgsl"
// #import Row, rowLoad, rowShared, rowDot, rowAxpy, rowGet from "lib/sdpa_rows.wgsl"
// #import Block, blockShared, blockDots, blockAxpy from "lib/sdpa_rows.wgsl"

override WG: u32 = 64u;
// Keys per thread, 1 to 8 (src/ops/sdpa_plans.ts: namedRows).
override ROWS: u32 = 4u;
// true: a block's 4 query rows are written out (lib/sdpa_rows.wgsl: Block), so that a key's dk and dv sums are
// assigned once per block, not once per row, which SwiftShader (4-lane subgroups) stores at every pass; false: the
// loop walks one row at a time, as lavapipe runs faster (see sdpa_forward_named.wgsl).
override QUERIES_WRITTEN: bool = false;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read> dy: array<vec4f>;
// Operand 3 of lib/sdpa_rows.wgsl's load4.
fn dyAt(i: u32) -> vec4f { return dy[i]; }
@group(0) @binding(5) var<storage, read> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4f>;
@group(0) @binding(8) var<uniform> params: Params;

// One key's rows and running gradient sums, and its raw scores against the current block's 4 q rows
// (QUERIES_WRITTEN).
struct Key { j: u32, k: Row, v: Row, dk: Row, dv: Row, s: vec4f }

// A query row's shared values: index i in its batch item and row = b·L + i, q and dy rows, lse, delta =
// rowsum(dy ∘ o), valid length, dropout seed.
struct Query { i: u32, row: u32, q: Row, dy: Row, lse: f32, delta: f32, len: i32, seed: u32 }

fn keyLoad(b: u32, j: u32) -> Key {
  let key = b * params.s + min(j, params.s - 1u);
  var st: Key;
  st.j = j;
  st.k = rowLoad(1u, key * HEAD_D4, HEAD_D4);
  st.v = rowLoad(2u, key * HEAD_DV4, HEAD_DV4);
  return st;
}

// What query row `qr` adds to the key's dk and dv (FlashAttention-2's backward, d2l's -1e6 mask: a row without
// valid keys weighs every key 1/S, and its dS is 0).
fn visit(st: Key, qr: Query) -> Key {
  let valid = i32(st.j) < qr.len && (!CAUSAL || st.j <= qr.i);
  var w = select(0.0, exp(rowDot(st.k, qr.q, HEAD_D4) * params.scale - qr.lse), valid);
  w = select(w, 1.0 / f32(params.s), qr.len <= 0);
  var f = 1.0;
  if (DROPOUT) {
    let u = hash_uniform(qr.row * params.s + st.j, qr.seed);
    f = select(0.0, params.drop_scale, u >= params.p);
  }
  let dp = rowDot(st.v, qr.dy, HEAD_DV4);
  let ds = select(0.0, w, valid) * (dp * f - qr.delta);
  var r = st;
  r.dv = rowAxpy(st.dv, w * f, qr.dy, HEAD_DV4);
  r.dk = rowAxpy(st.dk, ds, qr.q, HEAD_D4);
  return r;
}

// Query rows i0 … i0 + 3 as visitBlock needs them (QUERIES_WRITTEN): indices, rows b·L + i (clamped to hi − 1),
// lse, delta, valid lengths, and which are below hi (the others weigh 0).
struct Queries { i: vec4u, row: vec4u, lse: vec4f, delta: vec4f, len: vec4i, present: vec4<bool> }

fn queriesLoad(b: u32, i0: u32, hi: u32, perItem: bool, itemLen: i32) -> Queries {
  var qs: Queries;
  qs.i = vec4u(i0) + vec4u(0u, 1u, 2u, 3u);
  qs.present = qs.i < vec4u(hi);
  let ic = min(qs.i, vec4u(hi - 1u));
  qs.row = vec4u(b * params.l) + ic;
  let s0 = stats[qs.row.x];
  let s1 = stats[qs.row.y];
  let s2 = stats[qs.row.z];
  let s3 = stats[qs.row.w];
  qs.lse = vec4f(s0.x, s1.x, s2.x, s3.x);
  qs.delta = vec4f(s0.y, s1.y, s2.y, s3.y);
  qs.len = vec4i(itemLen);
  if (!perItem) { qs.len = vec4i(rowLen(b, ic.x), rowLen(b, ic.y), rowLen(b, ic.z), rowLen(b, ic.w)); }
  return qs;
}

// visit for 4 query rows at once (QUERIES_WRITTEN), with st.s = k against their q rows (qb) and dyb their dy rows.
fn visitBlock(st: Key, qs: Queries, qb: Block, dyb: Block, hseed: u32) -> Key {
  var valid = (vec4i(i32(st.j)) < qs.len) & qs.present;
  if (CAUSAL) { valid = valid & (vec4u(st.j) <= qs.i); }
  var w = select(vec4f(0.0), exp(st.s * params.scale - qs.lse), valid);
  w = select(w, vec4f(1.0 / f32(params.s)), (qs.len <= vec4i(0)) & qs.present);
  var f = vec4f(1.0);
  if (DROPOUT) {
    let u = hash_uniform4(qs.row * params.s + vec4u(st.j), hseed);
    f = select(vec4f(0.0), vec4f(params.drop_scale), u >= vec4f(params.p));
  }
  let dp = blockDots(st.v, dyb, HEAD_DV4);
  let ds = select(vec4f(0.0), w, valid) * (dp * f - qs.delta);
  var r = st;
  r.dv = blockAxpy(st.dv, w * f, dyb, HEAD_DV4);
  r.dk = blockAxpy(st.dk, ds, qb, HEAD_D4);
  return r;
}

fn keyStore(b: u32, st: Key) {
  if (st.j >= params.s) { return; }
  let key = b * params.s + st.j;
  for (var c = 0u; c < HEAD_D4; c++) { dk[key * HEAD_D4 + c] = rowGet(st.dk, c) * params.scale; }
  for (var c = 0u; c < HEAD_DV4; c++) { dv[key * HEAD_DV4 + c] = rowGet(st.dv, c); }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let L = params.l;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let j0 = wid.x * WG * ROWS;
  let range = rowsNeeded(b, j0);
  let lo = range.x;
  let hi = range.y;
  // ROWS of these are live; the override folds the rest away.
  var k0 = keyLoad(b, j0 + lid.x);
  var k1 = keyLoad(b, j0 + lid.x + WG);
  var k2 = keyLoad(b, j0 + lid.x + 2u * WG);
  var k3 = keyLoad(b, j0 + lid.x + 3u * WG);
  var k4 = keyLoad(b, j0 + lid.x + 4u * WG);
  var k5 = keyLoad(b, j0 + lid.x + 5u * WG);
  var k6 = keyLoad(b, j0 + lid.x + 6u * WG);
  var k7 = keyLoad(b, j0 + lid.x + 7u * WG);
  let hseed = pcg(params.seed);
  // Lengths per batch item (or none): one read for all rows rather than one per row.
  let perItem = lenPerItem();
  let itemLen = rowLen(b, 0u);
  if (QUERIES_WRITTEN) {
    let first = b * L;
    for (var i0 = lo; i0 < hi; i0 += 4u) {
      let qs = queriesLoad(b, i0, hi, perItem, itemLen);
      let qb = blockShared(0u, first, i0, hi, HEAD_D4, lane);
      k0.s = blockDots(k0.k, qb, HEAD_D4);
      if (ROWS > 1u) { k1.s = blockDots(k1.k, qb, HEAD_D4); }
      if (ROWS > 2u) { k2.s = blockDots(k2.k, qb, HEAD_D4); }
      if (ROWS > 3u) { k3.s = blockDots(k3.k, qb, HEAD_D4); }
      if (ROWS > 4u) { k4.s = blockDots(k4.k, qb, HEAD_D4); }
      if (ROWS > 5u) { k5.s = blockDots(k5.k, qb, HEAD_D4); }
      if (ROWS > 6u) { k6.s = blockDots(k6.k, qb, HEAD_D4); }
      if (ROWS > 7u) { k7.s = blockDots(k7.k, qb, HEAD_D4); }
      let dyb = blockShared(3u, first, i0, hi, HEAD_DV4, lane);
      k0 = visitBlock(k0, qs, qb, dyb, hseed);
      if (ROWS > 1u) { k1 = visitBlock(k1, qs, qb, dyb, hseed); }
      if (ROWS > 2u) { k2 = visitBlock(k2, qs, qb, dyb, hseed); }
      if (ROWS > 3u) { k3 = visitBlock(k3, qs, qb, dyb, hseed); }
      if (ROWS > 4u) { k4 = visitBlock(k4, qs, qb, dyb, hseed); }
      if (ROWS > 5u) { k5 = visitBlock(k5, qs, qb, dyb, hseed); }
      if (ROWS > 6u) { k6 = visitBlock(k6, qs, qb, dyb, hseed); }
      if (ROWS > 7u) { k7 = visitBlock(k7, qs, qb, dyb, hseed); }
    }
  } else {
    for (var i = lo; i < hi; i++) {
      let row = b * L + i;
      let st = stats[row];
      var len = itemLen;
      if (!perItem) { len = rowLen(b, i); }
      let qr = Query(i, row, rowShared(0u, row * HEAD_D4, HEAD_D4, lane), rowShared(3u, row * HEAD_DV4, HEAD_DV4, lane),
                     st.x, st.y, len, hseed);
      k0 = visit(k0, qr);
      if (ROWS > 1u) { k1 = visit(k1, qr); }
      if (ROWS > 2u) { k2 = visit(k2, qr); }
      if (ROWS > 3u) { k3 = visit(k3, qr); }
      if (ROWS > 4u) { k4 = visit(k4, qr); }
      if (ROWS > 5u) { k5 = visit(k5, qr); }
      if (ROWS > 6u) { k6 = visit(k6, qr); }
      if (ROWS > 7u) { k7 = visit(k7, qr); }
    }
  }
  keyStore(b, k0);
  if (ROWS > 1u) { keyStore(b, k1); }
  if (ROWS > 2u) { keyStore(b, k2); }
  if (ROWS > 3u) { keyStore(b, k3); }
  if (ROWS > 4u) { keyStore(b, k4); }
  if (ROWS > 5u) { keyStore(b, k5); }
  if (ROWS > 6u) { keyStore(b, k6); }
  if (ROWS > 7u) { keyStore(b, k7); }
}
