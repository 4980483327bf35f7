// shaders/sdpa_forward.wgsl (same math, bindings, params and dispatch; see there) for the software kernel set on
// devices with subgroups of at least 4 lanes and head dims up to 64, set as the pipeline constants HEAD_D4 and
// HEAD_DV4. Each thread owns ROWS query rows, their q rows and output sums held in named variables
// (lib/sdpa_rows.wgsl: no private array indexed by a loop counter, which SwiftShader keeps in memory and lavapipe
// gathers per lane), and walks the keys in blocks of 4: every lane needs the same k and v row, which rowShared loads
// a few vec4 per lane and hands round by subgroupBroadcast. A block's 4 scores sit in one vec4, so the online
// softmax rescales the sums once per 4 keys. No (B, L, S) buffer, no workgroup memory, no barriers.
// Dispatch: (ceil(L / (WG·ROWS)), B) folded as the other sdpa kernels (src/ops/sdpa_plans.ts).
enable subgroups;
// #import pcg, hash_uniform, hash_uniform4 from "lib/hash.wgsl"
// #import Params, HEAD_D4, HEAD_DV4, MASKED, NEG, rowLen, keysNeededMax from "lib/sdpa.wgsl"
// #import Row, rowLoad, rowSharedAt, rowDot, rowAxpy, rowGet from "lib/sdpa_rows.wgsl"
// #import Block, blockShared, blockDots, blockAxpy from "lib/sdpa_rows.wgsl"

override WG: u32 = 64u;
// Query rows per thread, 1 to 8 (src/ops/sdpa_plans.ts: namedRows).
override ROWS: u32 = 4u;
// true: a block's 4 keys are written out (lib/sdpa_rows.wgsl: Block), so that a query's scores and sums are
// assigned once per block, not once per key: SwiftShader stores a variable assigned in a loop at every pass (kernel
// alone, B·H = 32, D = 64: L = 128 44 → 22 ms, L = 512 676 → 310). false: a loop walks them one k or v row at a
// time, which lavapipe runs faster (L = 512: 51 against 65 ms written out: 4 rows of 16 vec4 outgrow its registers).
override KEYS_WRITTEN: bool = false;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read_write> o: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// Operand 3 of lib/sdpa_rows.wgsl's load4 (dy), which the forward never loads.
fn dyAt(i: u32) -> vec4f { return vec4f(0.0); }

// One query row: index i in its batch item and row = b·L + i, its q row and valid length, the running maximum m,
// sum l and output sum acc, and the current block's scores s (then weights p).
struct Query { i: u32, row: u32, q: Row, len: i32, m: f32, l: f32, acc: Row, s: vec4f }

fn queryLoad(b: u32, i: u32) -> Query {
  let row = b * params.l + min(i, params.l - 1u);
  var qr: Query;
  qr.i = i;
  qr.row = row;
  qr.q = rowLoad(0u, row * HEAD_D4, HEAD_D4);
  qr.len = rowLen(b, min(i, params.l - 1u));
  qr.m = NEG;
  return qr;
}

// Slot t (0 … 3) of v set to x, and read: selected rather than indexed, so that no lane indexes a vector by a
// variable.
fn withSlot(v: vec4f, t: u32, x: f32) -> vec4f {
  return select(v, vec4f(x), vec4u(0u, 1u, 2u, 3u) == vec4u(t));
}

fn slot(v: vec4f, t: u32) -> f32 {
  return dot(select(vec4f(0.0), v, vec4u(0u, 1u, 2u, 3u) == vec4u(t)), vec4f(1.0));
}

// The scaled and masked scores of keys j0 … j0 + 3 (those at or past n count as absent: weight 0), the new running
// maximum, the weights p = exp(s − m) with dropout applied after they are summed, and the sums rescaled to the new
// maximum.
fn softmaxStep(qr: Query, j0: u32, n: u32, hseed: u32) -> Query {
  let j = vec4u(j0) + vec4u(0u, 1u, 2u, 3u);
  let ji = vec4i(j);
  var valid = ji < vec4i(qr.len);
  if (CAUSAL) { valid = valid & (j <= vec4u(qr.i)); }
  let present = j < vec4u(n);
  let s = select(vec4f(MASKED), qr.s * params.scale, valid);
  let sp = select(vec4f(NEG), s, present);
  let mt = max(qr.m, max(max(sp.x, sp.y), max(sp.z, sp.w)));
  let alpha = exp(qr.m - mt);
  var p = select(vec4f(0.0), exp(s - vec4f(mt)), present);
  var r = qr;
  r.l = qr.l * alpha + dot(p, vec4f(1.0));
  r.m = mt;
  if (DROPOUT) {
    let u = hash_uniform4(vec4u(qr.row * params.s) + j, hseed);
    p = select(vec4f(0.0), p * params.drop_scale, u >= vec4f(params.p));
  }
  r.s = p;
  r.acc = rowScale(qr.acc, alpha, HEAD_DV4);
  return r;
}

// r · w over the first n4 vec4 (the rescale of the output sums).
fn rowScale(r: Row, w: f32, n4: u32) -> Row {
  return rowAxpy(Row(), w, r, n4);
}

fn queryStore(qr: Query) {
  if (qr.i >= params.l) { return; }
  let il = 1.0 / qr.l;
  for (var c = 0u; c < HEAD_DV4; c++) { o[qr.row * HEAD_DV4 + c] = rowGet(qr.acc, c) * il; }
  lse[qr.row] = qr.m + log(qr.l);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let L = params.l;
  let S = params.s;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let i0 = wid.x * WG * ROWS;
  // One key bound for the whole workgroup keeps every thread's loop the same length.
  let n = keysNeededMax(b, i0, min(i0 + WG * ROWS, L), S);
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
  for (var j0 = 0u; j0 < n; j0 += 4u) {
    if (KEYS_WRITTEN) {
      let kb = blockShared(1u, b * S, j0, n, HEAD_D4, lane);
      q0.s = blockDots(q0.q, kb, HEAD_D4);
      if (ROWS > 1u) { q1.s = blockDots(q1.q, kb, HEAD_D4); }
      if (ROWS > 2u) { q2.s = blockDots(q2.q, kb, HEAD_D4); }
      if (ROWS > 3u) { q3.s = blockDots(q3.q, kb, HEAD_D4); }
      if (ROWS > 4u) { q4.s = blockDots(q4.q, kb, HEAD_D4); }
      if (ROWS > 5u) { q5.s = blockDots(q5.q, kb, HEAD_D4); }
      if (ROWS > 6u) { q6.s = blockDots(q6.q, kb, HEAD_D4); }
      if (ROWS > 7u) { q7.s = blockDots(q7.q, kb, HEAD_D4); }
    } else {
      for (var t = 0u; t < 4u; t++) {
        let kj = rowSharedAt(1u, b * S, j0 + t, n, HEAD_D4, lane);
        q0.s = withSlot(q0.s, t, rowDot(q0.q, kj, HEAD_D4));
        if (ROWS > 1u) { q1.s = withSlot(q1.s, t, rowDot(q1.q, kj, HEAD_D4)); }
        if (ROWS > 2u) { q2.s = withSlot(q2.s, t, rowDot(q2.q, kj, HEAD_D4)); }
        if (ROWS > 3u) { q3.s = withSlot(q3.s, t, rowDot(q3.q, kj, HEAD_D4)); }
        if (ROWS > 4u) { q4.s = withSlot(q4.s, t, rowDot(q4.q, kj, HEAD_D4)); }
        if (ROWS > 5u) { q5.s = withSlot(q5.s, t, rowDot(q5.q, kj, HEAD_D4)); }
        if (ROWS > 6u) { q6.s = withSlot(q6.s, t, rowDot(q6.q, kj, HEAD_D4)); }
        if (ROWS > 7u) { q7.s = withSlot(q7.s, t, rowDot(q7.q, kj, HEAD_D4)); }
      }
    }
    q0 = softmaxStep(q0, j0, n, hseed);
    if (ROWS > 1u) { q1 = softmaxStep(q1, j0, n, hseed); }
    if (ROWS > 2u) { q2 = softmaxStep(q2, j0, n, hseed); }
    if (ROWS > 3u) { q3 = softmaxStep(q3, j0, n, hseed); }
    if (ROWS > 4u) { q4 = softmaxStep(q4, j0, n, hseed); }
    if (ROWS > 5u) { q5 = softmaxStep(q5, j0, n, hseed); }
    if (ROWS > 6u) { q6 = softmaxStep(q6, j0, n, hseed); }
    if (ROWS > 7u) { q7 = softmaxStep(q7, j0, n, hseed); }
    if (KEYS_WRITTEN) {
      let vb = blockShared(2u, b * S, j0, n, HEAD_DV4, lane);
      q0.acc = blockAxpy(q0.acc, q0.s, vb, HEAD_DV4);
      if (ROWS > 1u) { q1.acc = blockAxpy(q1.acc, q1.s, vb, HEAD_DV4); }
      if (ROWS > 2u) { q2.acc = blockAxpy(q2.acc, q2.s, vb, HEAD_DV4); }
      if (ROWS > 3u) { q3.acc = blockAxpy(q3.acc, q3.s, vb, HEAD_DV4); }
      if (ROWS > 4u) { q4.acc = blockAxpy(q4.acc, q4.s, vb, HEAD_DV4); }
      if (ROWS > 5u) { q5.acc = blockAxpy(q5.acc, q5.s, vb, HEAD_DV4); }
      if (ROWS > 6u) { q6.acc = blockAxpy(q6.acc, q6.s, vb, HEAD_DV4); }
      if (ROWS > 7u) { q7.acc = blockAxpy(q7.acc, q7.s, vb, HEAD_DV4); }
    } else {
      for (var t = 0u; t < 4u; t++) {
        let vj = rowSharedAt(2u, b * S, j0 + t, n, HEAD_DV4, lane);
        q0.acc = rowAxpy(q0.acc, slot(q0.s, t), vj, HEAD_DV4);
        if (ROWS > 1u) { q1.acc = rowAxpy(q1.acc, slot(q1.s, t), vj, HEAD_DV4); }
        if (ROWS > 2u) { q2.acc = rowAxpy(q2.acc, slot(q2.s, t), vj, HEAD_DV4); }
        if (ROWS > 3u) { q3.acc = rowAxpy(q3.acc, slot(q3.s, t), vj, HEAD_DV4); }
        if (ROWS > 4u) { q4.acc = rowAxpy(q4.acc, slot(q4.s, t), vj, HEAD_DV4); }
        if (ROWS > 5u) { q5.acc = rowAxpy(q5.acc, slot(q5.s, t), vj, HEAD_DV4); }
        if (ROWS > 6u) { q6.acc = rowAxpy(q6.acc, slot(q6.s, t), vj, HEAD_DV4); }
        if (ROWS > 7u) { q7.acc = rowAxpy(q7.acc, slot(q7.s, t), vj, HEAD_DV4); }
      }
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
