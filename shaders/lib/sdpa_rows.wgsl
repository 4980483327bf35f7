// Head-dim rows held in named variables, for the _named attention kernels (sdpa_backward_dq_named,
// sdpa_backward_dkdv_named): a `Row` is up to 16 vec4 (head dims up to 64) as fields, never an array indexed by a
// loop counter. Why: lavapipe (Mesa 25) lowers a private array indexed by a loop counter to a per-lane gather of
// about 8 instructions per lane and component, which took about half the time of the _subgroup kernels (their
// machine code under perf); SwiftShader keeps such arrays in memory. Fields become SSA values (spilled, if at all,
// to fixed stack slots). Every function takes the head dim in vec4 (`n4`, the pipeline's HEAD_D4 or HEAD_DV4 at
// every call) and skips the fields past it, which the compiler folds away; fields past n4 stay zero.
// Reads lib/sdpa.wgsl's q, k, v and, through `dyAt(i)` which each kernel declares, the backward's dy, through `load4`.

struct Row {
  c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f, c4: vec4f, c5: vec4f, c6: vec4f, c7: vec4f,
  c8: vec4f, c9: vec4f, c10: vec4f, c11: vec4f, c12: vec4f, c13: vec4f, c14: vec4f, c15: vec4f
}

// Operand `which` (0 q, 1 k, 2 v, 3 dy) at vec4 index i; `which` is a constant at every call.
fn load4(which: u32, i: u32) -> vec4f {
  switch which {
    case 0u: { return q[i]; }
    case 1u: { return k[i]; }
    case 2u: { return v[i]; }
    default: { return dyAt(i); }
  }
}

// This thread's own row of operand `which`, starting at vec4 index `base`.
fn rowLoad(which: u32, base: u32, n4: u32) -> Row {
  var r: Row;
  r.c0 = load4(which, base);
  if (n4 > 1u) { r.c1 = load4(which, base + 1u); }
  if (n4 > 2u) { r.c2 = load4(which, base + 2u); }
  if (n4 > 3u) { r.c3 = load4(which, base + 3u); }
  if (n4 > 4u) { r.c4 = load4(which, base + 4u); }
  if (n4 > 5u) { r.c5 = load4(which, base + 5u); }
  if (n4 > 6u) { r.c6 = load4(which, base + 6u); }
  if (n4 > 7u) { r.c7 = load4(which, base + 7u); }
  if (n4 > 8u) { r.c8 = load4(which, base + 8u); }
  if (n4 > 9u) { r.c9 = load4(which, base + 9u); }
  if (n4 > 10u) { r.c10 = load4(which, base + 10u); }
  if (n4 > 11u) { r.c11 = load4(which, base + 11u); }
  if (n4 > 12u) { r.c12 = load4(which, base + 12u); }
  if (n4 > 13u) { r.c13 = load4(which, base + 13u); }
  if (n4 > 14u) { r.c14 = load4(which, base + 14u); }
  if (n4 > 15u) { r.c15 = load4(which, base + 15u); }
  return r;
}

// Lanes that load a shared row (rowShared): 8, or 4 on devices whose subgroups have 4 lanes (SwiftShader); at
// most the device's smallest subgroup (src/ops/sdpa_plans.ts).
override SHARE_LANES: u32 = 8u;

// A row every lane of the subgroup needs (the same address in all of them): lane l loads vec4 columns l % 8 and
// l % 8 + 8 (SHARE_LANES = 4: l % 4, + 4, + 8, + 12) and subgroupBroadcast from constant lanes hands every lane all
// of them, so each lane loads 2 (4) vec4 instead of 16 (lavapipe and SwiftShader load per lane, the same address
// too).
fn rowShared(which: u32, base: u32, n4: u32, lane: u32) -> Row {
  if (SHARE_LANES == 4u) { return rowShared4(which, base, n4, lane); }
  let c = lane % 8u;
  let lo = sharedPart(which, base, n4, c);
  var r: Row;
  r.c0 = subgroupBroadcast(lo, 0u);
  r.c1 = subgroupBroadcast(lo, 1u);
  r.c2 = subgroupBroadcast(lo, 2u);
  r.c3 = subgroupBroadcast(lo, 3u);
  r.c4 = subgroupBroadcast(lo, 4u);
  r.c5 = subgroupBroadcast(lo, 5u);
  r.c6 = subgroupBroadcast(lo, 6u);
  r.c7 = subgroupBroadcast(lo, 7u);
  if (n4 > 8u) {
    let hi = sharedPart(which, base, n4, c + 8u);
    r.c8 = subgroupBroadcast(hi, 0u);
    r.c9 = subgroupBroadcast(hi, 1u);
    r.c10 = subgroupBroadcast(hi, 2u);
    r.c11 = subgroupBroadcast(hi, 3u);
    r.c12 = subgroupBroadcast(hi, 4u);
    r.c13 = subgroupBroadcast(hi, 5u);
    r.c14 = subgroupBroadcast(hi, 6u);
    r.c15 = subgroupBroadcast(hi, 7u);
  }
  return r;
}

// Column c of the row (zero past n4) for rowShared: one vec4 per lane, the index clamped so no lane reads past it.
fn sharedPart(which: u32, base: u32, n4: u32, c: u32) -> vec4f {
  return select(vec4f(0.0), load4(which, base + min(c, n4 - 1u)), c < n4);
}

fn rowShared4(which: u32, base: u32, n4: u32, lane: u32) -> Row {
  let c = lane % 4u;
  var r: Row;
  let p0 = sharedPart(which, base, n4, c);
  r.c0 = subgroupBroadcast(p0, 0u);
  r.c1 = subgroupBroadcast(p0, 1u);
  r.c2 = subgroupBroadcast(p0, 2u);
  r.c3 = subgroupBroadcast(p0, 3u);
  if (n4 > 4u) {
    let p1 = sharedPart(which, base, n4, c + 4u);
    r.c4 = subgroupBroadcast(p1, 0u);
    r.c5 = subgroupBroadcast(p1, 1u);
    r.c6 = subgroupBroadcast(p1, 2u);
    r.c7 = subgroupBroadcast(p1, 3u);
  }
  if (n4 > 8u) {
    let p2 = sharedPart(which, base, n4, c + 8u);
    r.c8 = subgroupBroadcast(p2, 0u);
    r.c9 = subgroupBroadcast(p2, 1u);
    r.c10 = subgroupBroadcast(p2, 2u);
    r.c11 = subgroupBroadcast(p2, 3u);
  }
  if (n4 > 12u) {
    let p3 = sharedPart(which, base, n4, c + 12u);
    r.c12 = subgroupBroadcast(p3, 0u);
    r.c13 = subgroupBroadcast(p3, 1u);
    r.c14 = subgroupBroadcast(p3, 2u);
    r.c15 = subgroupBroadcast(p3, 3u);
  }
  return r;
}

// a · b over the first n4 vec4.
fn rowDot(a: Row, b: Row, n4: u32) -> f32 {
  var s = dot(a.c0, b.c0) + dot(a.c1, b.c1) + dot(a.c2, b.c2) + dot(a.c3, b.c3);
  s += dot(a.c4, b.c4) + dot(a.c5, b.c5) + dot(a.c6, b.c6) + dot(a.c7, b.c7);
  if (n4 > 8u) {
    s += dot(a.c8, b.c8) + dot(a.c9, b.c9) + dot(a.c10, b.c10) + dot(a.c11, b.c11);
    s += dot(a.c12, b.c12) + dot(a.c13, b.c13) + dot(a.c14, b.c14) + dot(a.c15, b.c15);
  }
  return s;
}

// y + w·x over the first n4 vec4.
fn rowAxpy(y: Row, w: f32, x: Row, n4: u32) -> Row {
  var r = y;
  let wv = vec4f(w);
  r.c0 = fma(wv, x.c0, y.c0);
  r.c1 = fma(wv, x.c1, y.c1);
  r.c2 = fma(wv, x.c2, y.c2);
  r.c3 = fma(wv, x.c3, y.c3);
  r.c4 = fma(wv, x.c4, y.c4);
  r.c5 = fma(wv, x.c5, y.c5);
  r.c6 = fma(wv, x.c6, y.c6);
  r.c7 = fma(wv, x.c7, y.c7);
  if (n4 > 8u) {
    r.c8 = fma(wv, x.c8, y.c8);
    r.c9 = fma(wv, x.c9, y.c9);
    r.c10 = fma(wv, x.c10, y.c10);
    r.c11 = fma(wv, x.c11, y.c11);
    r.c12 = fma(wv, x.c12, y.c12);
    r.c13 = fma(wv, x.c13, y.c13);
    r.c14 = fma(wv, x.c14, y.c14);
    r.c15 = fma(wv, x.c15, y.c15);
  }
  return r;
}

// Field c of r (c < 16), for the stores at the end.
fn rowGet(r: Row, c: u32) -> vec4f {
  switch c {
    case 0u: { return r.c0; }
    case 1u: { return r.c1; }
    case 2u: { return r.c2; }
    case 3u: { return r.c3; }
    case 4u: { return r.c4; }
    case 5u: { return r.c5; }
    case 6u: { return r.c6; }
    case 7u: { return r.c7; }
    case 8u: { return r.c8; }
    case 9u: { return r.c9; }
    case 10u: { return r.c10; }
    case 11u: { return r.c11; }
    case 12u: { return r.c12; }
    case 13u: { return r.c13; }
    case 14u: { return r.c14; }
    default: { return r.c15; }
  }
}

// Four consecutive rows of one operand (a block of 4 keys, or of 4 query rows), for the kernels that write a block's
// rows out where every subgroup has 4 lanes (KEYS_WRITTEN, QUERIES_WRITTEN): SwiftShader stores a variable assigned
// inside a loop at every pass, so a sum assigned once per block costs a quarter of one assigned once per row.
struct Block { r0: Row, r1: Row, r2: Row, r3: Row }

// Row first + min(j, n − 1) of operand `which` (first: b·S for k and v, b·L for q and dy), handed round the
// subgroup by rowShared: rows past the last one needed repeat it, and the caller gives them weight 0.
fn rowSharedAt(which: u32, first: u32, j: u32, n: u32, n4: u32, lane: u32) -> Row {
  return rowShared(which, (first + min(j, n - 1u)) * n4, n4, lane);
}

// Rows j0 … j0 + 3 (rowSharedAt).
fn blockShared(which: u32, first: u32, j0: u32, n: u32, n4: u32, lane: u32) -> Block {
  return Block(rowSharedAt(which, first, j0, n, n4, lane), rowSharedAt(which, first, j0 + 1u, n, n4, lane),
               rowSharedAt(which, first, j0 + 2u, n, n4, lane), rowSharedAt(which, first, j0 + 3u, n, n4, lane));
}

// a · each of the block's 4 rows, over the first n4 vec4.
fn blockDots(a: Row, blk: Block, n4: u32) -> vec4f {
  return vec4f(rowDot(a, blk.r0, n4), rowDot(a, blk.r1, n4), rowDot(a, blk.r2, n4), rowDot(a, blk.r3, n4));
}

// acc + Σ_t w[t] · row t of the block, over the first n4 vec4.
fn blockAxpy(acc: Row, w: vec4f, blk: Block, n4: u32) -> Row {
  return rowAxpy(rowAxpy(rowAxpy(rowAxpy(acc, w.x, blk.r0, n4), w.y, blk.r1, n4), w.z, blk.r2, n4), w.w, blk.r3, n4);
}
