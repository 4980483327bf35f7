// shaders/sdpa_backward_dq.wgsl (same math, bindings and params; see there) for the software kernel set on devices
// with subgroups of at least 4 lanes and head dims up to 64, set as the pipeline constants HEAD_D4 and HEAD_DV4.
// Each thread owns ROWS query rows, their q and dy rows and dq sums held in named variables (lib/sdpa_rows.wgsl: no
// private array indexed by a loop counter, which lavapipe gathers per lane and SwiftShader keeps in memory), and
// walks the keys one at a time (in blocks of 4 with KEYS_WRITTEN): every lane needs the same k and v row, which
// rowShared loads 2 (4 on 4-lane subgroups) vec4 per lane and hands round by subgroupBroadcast. No (B, L, S) buffer,
// no workgroup memory, no barriers.
// Dispatch: (ceil(L / (WG·ROWS)), B) folded as the other sdpa kernels (src/ops/sdpa_plans.ts).
enable subgroups;
// #import pcg, hash_uniform, hash_uniform4 from "lib/hash.wgsl"
// #import Params, HEAD_D4, HEAD_DV4, rowLen, keysNeededMax from "lib/sdpa.wgsl"
// #import Row, rowLoad, rowShared, rowDot, rowAxpy, rowGet from "lib/sdpa_rows.wgsl"
// #import Block, blockShared, blockDots, blockAxpy from "lib/sdpa_rows.wgsl"

override WG: u32 = 64u;
// Query rows per thread, 1 to 8 (src/ops/sdpa_plans.ts: namedRows).
override ROWS: u32 = 4u;
// true: a block's 4 keys are written out (lib/sdpa_rows.wgsl: Block), so that a query's dq sums are assigned once
// per block, not once per key, which SwiftShader (4-lane subgroups) stores at every pass; false: the loop walks
// one key at a time, as lavapipe runs faster (see sdpa_forward_named.wgsl).
override KEYS_WRITTEN: bool = false;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read> dy: array<vec4f>;
// Operand 3 of lib/sdpa_rows.wgsl's load4.
fn dyAt(i: u32) -> vec4f { return dy[i]; }
@group(0) @binding(5) var<storage, read> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(7) var<uniform> params: Params;

// One query row: index i in its batch item and row = b·L + i, q and dy rows, lse, delta = rowsum(dy ∘ o), valid
// length, the running dq sum, and dy against the current block's 4 v rows (KEYS_WRITTEN).
struct Query { i: u32, row: u32, q: Row, dy: Row, lse: f32, delta: f32, len: i32, dq: Row, g: vec4f }

fn queryLoad(b: u32, i: u32) -> Query {
  let row = b * params.l + min(i, params.l - 1u);
  let st = stats[row];
  var qr: Query;
  qr.i = i;
  qr.row = row;
  qr.q = rowLoad(0u, row * HEAD_D4, HEAD_D4);
  qr.dy = rowLoad(3u, row * HEAD_DV4, HEAD_DV4);
  qr.lse = st.x;
  qr.delta = st.y;
  qr.len = rowLen(b, min(i, params.l - 1u));
  return qr;
}

// What key j (its k and v rows) adds to the row's dq: dS = P ∘ (dP − delta), zero where the key is masked.
fn visit(qr: Query, j: u32, kj: Row, vj: Row, hseed: u32) -> Query {
  let valid = i32(j) < qr.len && (!CAUSAL || j <= qr.i);
  var g = rowDot(qr.dy, vj, HEAD_DV4);
  if (DROPOUT) {
    let u = hash_uniform(qr.row * params.s + j, hseed);
    g = select(0.0, g * params.drop_scale, u >= params.p);
  }
  let ds = select(0.0, exp(rowDot(qr.q, kj, HEAD_D4) * params.scale - qr.lse) * (g - qr.delta), valid);
  var r = qr;
  r.dq = rowAxpy(qr.dq, ds, kj, HEAD_D4);
  return r;
}

// visit for keys j0 … j0 + 3 at once (KEYS_WRITTEN), with qr.g = dy against their v rows: those at or past n (the
// block's clamped repeats of key n − 1) weigh 0.
fn visitBlock(qr: Query, j0: u32, n: u32, kb: Block, hseed: u32) -> Query {
  let j = vec4u(j0) + vec4u(0u, 1u, 2u, 3u);
  var valid = (vec4i(j) < vec4i(qr.len)) & (j < vec4u(n));
  if (CAUSAL) { valid = valid & (j <= vec4u(qr.i)); }
  var g = qr.g;
  if (DROPOUT) {
    let u = hash_uniform4(vec4u(qr.row * params.s) + j, hseed);
    g = select(vec4f(0.0), g * params.drop_scale, u >= vec4f(params.p));
  }
  let p = exp(blockDots(qr.q, kb, HEAD_D4) * params.scale - vec4f(qr.lse));
  var r = qr;
  r.dq = blockAxpy(qr.dq, select(vec4f(0.0), p * (g - vec4f(qr.delta)), valid), kb, HEAD_D4);
  return r;
}

fn queryStore(qr: Query) {
  if (qr.i >= params.l) { return; }
  for (var c = 0u; c < HEAD_D4; c++) { dq[qr.row * HEAD_D4 + c] = rowGet(qr.dq, c) * params.scale; }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let L = params.l;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let i0 = wid.x * WG * ROWS;
  // One key bound for the whole workgroup keeps every thread's loop the same length.
  let n = keysNeededMax(b, i0, min(i0 + WG * ROWS, L), 0u);
  // ROWS of these are live; the override folds the rest away.
  var q0 = queryLoad(b, i0 + lid.x);
  var q1 = queryLoad(b, i0 + lid.x + WG);
  var q2 = queryLoad(b, i0 + lid.x + 2u * WG);
  var q3 = queryLoad(b, i0 + lid.x + 3u * WG);
  var q4 = queryLoad(b, i0 + lid.x + 4u * WG);
  var q5 = queryLoad(b, i0 + lid.x + 5u * WG);
  var q6 = queryLoad(b, i0 + lid.x + 6u * WG);
  var q7 = queryLoad(b, i0 + lid.x + 7u * WG);
  let hseed = pcg(params.seed);
  if (KEYS_WRITTEN) {
    let first = b * params.s;
    for (var j0 = 0u; j0 < n; j0 += 4u) {
      let vb = blockShared(2u, first, j0, n, HEAD_DV4, lane);
      q0.g = blockDots(q0.dy, vb, HEAD_DV4);
      if (ROWS > 1u) { q1.g = blockDots(q1.dy, vb, HEAD_DV4); }
      if (ROWS > 2u) { q2.g = blockDots(q2.dy, vb, HEAD_DV4); }
      if (ROWS > 3u) { q3.g = blockDots(q3.dy, vb, HEAD_DV4); }
      if (ROWS > 4u) { q4.g = blockDots(q4.dy, vb, HEAD_DV4); }
      if (ROWS > 5u) { q5.g = blockDots(q5.dy, vb, HEAD_DV4); }
      if (ROWS > 6u) { q6.g = blockDots(q6.dy, vb, HEAD_DV4); }
      if (ROWS > 7u) { q7.g = blockDots(q7.dy, vb, HEAD_DV4); }
      let kb = blockShared(1u, first, j0, n, HEAD_D4, lane);
      q0 = visitBlock(q0, j0, n, kb, hseed);
      if (ROWS > 1u) { q1 = visitBlock(q1, j0, n, kb, hseed); }
      if (ROWS > 2u) { q2 = visitBlock(q2, j0, n, kb, hseed); }
      if (ROWS > 3u) { q3 = visitBlock(q3, j0, n, kb, hseed); }
      if (ROWS > 4u) { q4 = visitBlock(q4, j0, n, kb, hseed); }
      if (ROWS > 5u) { q5 = visitBlock(q5, j0, n, kb, hseed); }
      if (ROWS > 6u) { q6 = visitBlock(q6, j0, n, kb, hseed); }
      if (ROWS > 7u) { q7 = visitBlock(q7, j0, n, kb, hseed); }
    }
  } else {
    for (var j = 0u; j < n; j++) {
      let key = b * params.s + j;
      let kj = rowShared(1u, key * HEAD_D4, HEAD_D4, lane);
      let vj = rowShared(2u, key * HEAD_DV4, HEAD_DV4, lane);
      q0 = visit(q0, j, kj, vj, hseed);
      if (ROWS > 1u) { q1 = visit(q1, j, kj, vj, hseed); }
      if (ROWS > 2u) { q2 = visit(q2, j, kj, vj, hseed); }
      if (ROWS > 3u) { q3 = visit(q3, j, kj, vj, hseed); }
      if (ROWS > 4u) { q4 = visit(q4, j, kj, vj, hseed); }
      if (ROWS > 5u) { q5 = visit(q5, j, kj, vj, hseed); }
      if (ROWS > 6u) { q6 = visit(q6, j, kj, vj, hseed); }
      if (ROWS > 7u) { q7 = visit(q7, j, kj, vj, hseed); }
    }
  }
  queryStore(q0);
  if (ROWS > 1u) { queryStore(q1); }
  if (ROWS > 2u) { queryStore(q2); }
  if (ROWS > 3u) { queryStore(q3); }
  if (ROWS > 4u) { queryStore(q4); }
  if (ROWS > 5u) { queryStore(q5); }
  if (ROWS > 6u) { queryStore(q6); }
  if (ROWS > 7u) { queryStore(q7); }
}
