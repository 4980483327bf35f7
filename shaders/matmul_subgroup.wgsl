// y[z] = op(a[z]) · op(b[z]) as shaders/matmul.wgsl computes it (op = transpose where TRANS_A / TRANS_B, a batch
// stride of 0 shares an operand), for devices with subgroups and dims that are multiples of 4: every operand is read
// as vec4 (a: along K, or along M with TRANS_A; b: along N, or along K with TRANS_B; y along N), K 4 at a time.
// Shapes: a (B, M, K), or (B, K, M) with TRANS_A; b (B, K, N), or (B, N, K) with TRANS_B; y (B, M, N); K, N and
// (with TRANS_A) M multiples of 4 (src/ops/matmul.ts checks, else it uses matmul.wgsl).
// Dispatch: (ceil(N / (4·WG)), ceil(M / (16·BLOCKS)), B), batches in chunks from z0; WG a multiple of the largest
// subgroup size, so that subgroups are whole. A workgroup owns 16·BLOCKS whole rows of y; thread lid owns the vec4
// column group lid. Each subgroup lane loads the a values of one k-block (16·BLOCKS rows × 4 k) and subgroupShuffle
// (subgroupBroadcast with LANES = 4) hands them to the other lanes, so one load feeds the whole subgroup.
// Why this shape (lavapipe, Mesa 25, read off its machine code): every storage load inside a loop is a per-lane
// gather of about 8 instructions per lane and component (bounds check, branch, insert), the uniform ones too, while
// a multiply-add is 2 (lavapipe emits fma() as vmulps + vaddps). So loads per multiply-add decide the speed: a
// subgroup's (16·BLOCKS) × 32 tile of y loads (16·BLOCKS + 32) values per k for 16·BLOCKS·32 products, and more
// rows beat the spills their accumulators cause up to 64 rows (BLOCKS = 4: 25 → 33 GFLOP/s at 1024², 20 → 30 at
// 2048²; 128 rows fell back to 29). src/ops/matmul.ts takes BLOCKS = 4 where M fills it. The blocks are written
// out by hand, not as arrays indexed by loop counters, which SwiftShader keeps in memory (see matmul.wgsl). No
// workgroup memory, no barriers. Backward: composed from matmul with the transpose flags in src/ops/matmul.ts.
// Large 2-D products without transposes run matmul_texture.wgsl on lavapipe instead (operands copied into
// textures, whose fetches cost a quarter of these gathers).
enable subgroups;
// #import Quad, madd, Rows16, ZERO16, store, storeQuad, store16 from "lib/matmul_quads.wgsl"

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WG: u32 = 64u;
// 16-row blocks of y per workgroup: 1 or 4.
override BLOCKS: u32 = 1u;
// 0: a k-block's lanes are walked by a loop that hands their a values on with subgroupShuffle (any subgroup size).
// 4: the walk is written out for 4 lanes, handing on with subgroupBroadcast from constant lanes (devices whose
// subgroups have 4 lanes; lanes past 4 load copies). SwiftShader makes a constant-lane broadcast a splat and no
// longer stores the accumulators at every lane: 1.4× at 512². On lavapipe the same written out for 8 lanes was
// 1.4× slower (its code outgrew what the front end decodes), so it keeps the loop.
override LANES: u32 = 0u;

struct Params { m: u32, n: u32, k: u32, astride: u32, bstride: u32, z0: u32 }

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(3) var<uniform> params: Params;

fn transpose4(c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f) -> Quad {
  return Quad(vec4f(c0.x, c1.x, c2.x, c3.x), vec4f(c0.y, c1.y, c2.y, c3.y), vec4f(c0.z, c1.z, c2.z, c3.z),
              vec4f(c0.w, c1.w, c2.w, c3.w));
}

// op(a)[row .. row + 3, 4·k4 .. 4·k4 + 3], row a multiple of 4; rows past the edge are clamped onto the last one
// (never stored), so every load is in bounds.
fn aQuad(base: u32, row: u32, k4: u32) -> Quad {
  let K4 = params.k / 4u;
  if (TRANS_A) {
    // a is (K, M): a vec4 holds 4 rows at one k.
    let M4 = params.m / 4u;
    let r4 = min(row / 4u, M4 - 1u);
    return transpose4(a[base + 4u * k4 * M4 + r4], a[base + (4u * k4 + 1u) * M4 + r4],
                      a[base + (4u * k4 + 2u) * M4 + r4], a[base + (4u * k4 + 3u) * M4 + r4]);
  }
  let last = params.m - 1u;
  return Quad(a[base + min(row, last) * K4 + k4], a[base + min(row + 1u, last) * K4 + k4],
              a[base + min(row + 2u, last) * K4 + k4], a[base + min(row + 3u, last) * K4 + k4]);
}

// op(b)[4·k4 .. 4·k4 + 3, 4·c4 .. 4·c4 + 3].
fn bQuad(base: u32, c4: u32, k4: u32) -> Quad {
  let K4 = params.k / 4u;
  if (TRANS_B) {
    // b is (N, K): a vec4 holds 4 k of one column.
    return transpose4(b[base + 4u * c4 * K4 + k4], b[base + (4u * c4 + 1u) * K4 + k4],
                      b[base + (4u * c4 + 2u) * K4 + k4], b[base + (4u * c4 + 3u) * K4 + k4]);
  }
  let N4 = params.n / 4u;
  return Quad(b[base + 4u * k4 * N4 + c4], b[base + (4u * k4 + 1u) * N4 + c4], b[base + (4u * k4 + 2u) * N4 + c4],
              b[base + (4u * k4 + 3u) * N4 + c4]);
}

fn zeroUnless(q: Quad, keep: bool) -> Quad {
  let z = vec4f(0.0);
  return Quad(select(z, q.r0, keep), select(z, q.r1, keep), select(z, q.r2, keep), select(z, q.r3, keep));
}

// op(a)[row .. row + 15, 4·kc .. 4·kc + 3], zero unless `keep`.
fn aRows16(base: u32, row: u32, kc: u32, keep: bool) -> Rows16 {
  return Rows16(zeroUnless(aQuad(base, row, kc), keep), zeroUnless(aQuad(base, row + 4u, kc), keep),
                zeroUnless(aQuad(base, row + 8u, kc), keep), zeroUnless(aQuad(base, row + 12u, kc), keep));
}

// Lane t's x, in every lane: a shuffle by the loop's t, or (LANES > 0, t a constant at every call) a broadcast from
// a constant lane.
fn fromLane(x: vec4f, t: u32) -> vec4f {
  if (LANES == 0u) { return subgroupShuffle(x, t); }
  switch t {
    case 0u: { return subgroupBroadcast(x, 0u); }
    case 1u: { return subgroupBroadcast(x, 1u); }
    case 2u: { return subgroupBroadcast(x, 2u); }
    default: { return subgroupBroadcast(x, 3u); }
  }
}

fn maddQuad(acc: Quad, a: Quad, t: u32, bq: Quad) -> Quad {
  return Quad(madd(acc.r0, fromLane(a.r0, t), bq), madd(acc.r1, fromLane(a.r1, t), bq),
              madd(acc.r2, fromLane(a.r2, t), bq), madd(acc.r3, fromLane(a.r3, t), bq));
}

// acc + lane t's 16 rows of op(a) (its k-block) times op(b)'s 4 rows at that k-block (bq).
fn madd16(acc: Rows16, a: Rows16, t: u32, bq: Quad) -> Rows16 {
  return Rows16(maddQuad(acc.q0, a.q0, t, bq), maddQuad(acc.q1, a.q1, t, bq), maddQuad(acc.q2, a.q2, t, bq),
                maddQuad(acc.q3, a.q3, t, bq));
}

// acc + the k-blocks of lanes 0–3 (LANES = 4), op(b)'s rows at them in b0 … b3.
fn madd16Lanes4(acc: Rows16, a: Rows16, b0: Quad, b1: Quad, b2: Quad, b3: Quad) -> Rows16 {
  return madd16(madd16(madd16(madd16(acc, a, 0u, b0), a, 1u, b1), a, 2u, b2), a, 3u, b3);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg: u32) {
  let K4 = params.k / 4u;
  let z = wid.z + params.z0;
  let row0 = wid.y * 16u * BLOCKS;
  let c4 = wid.x * WG + lid.x;
  let abase = z * params.astride / 4u;
  let bbase = z * params.bstride / 4u;
  // Column groups past the edge read the last one (never stored).
  let cb = min(c4, params.n / 4u - 1u);
  // y rows row0 + 16·j + … in accj (blocks 1–3 only with BLOCKS = 4; the override folds the rest away).
  var acc0 = ZERO16;
  var acc1 = ZERO16;
  var acc2 = ZERO16;
  var acc3 = ZERO16;
  // k-blocks handed on per step: the subgroup's, or LANES.
  let step = select(sg, LANES, LANES > 0u);
  for (var k40 = 0u; k40 < K4; k40 += step) {
    // This lane's k-block: op(a)[row0 .. row0 + 16·BLOCKS − 1, 4·kl .. 4·kl + 3], zero past K.
    let kl = k40 + lane % step;
    let kc = min(kl, K4 - 1u);
    let a0 = aRows16(abase, row0, kc, kl < K4);
    var a1 = ZERO16;
    var a2 = ZERO16;
    var a3 = ZERO16;
    if (BLOCKS == 4u) {
      a1 = aRows16(abase, row0 + 16u, kc, kl < K4);
      a2 = aRows16(abase, row0 + 32u, kc, kl < K4);
      a3 = aRows16(abase, row0 + 48u, kc, kl < K4);
    }
    // Past K the a values are zero, so any k-block in range will do for b.
    if (LANES == 4u) {
      let b0 = bQuad(bbase, cb, min(k40, K4 - 1u));
      let b1 = bQuad(bbase, cb, min(k40 + 1u, K4 - 1u));
      let b2 = bQuad(bbase, cb, min(k40 + 2u, K4 - 1u));
      let b3 = bQuad(bbase, cb, min(k40 + 3u, K4 - 1u));
      acc0 = madd16Lanes4(acc0, a0, b0, b1, b2, b3);
      if (BLOCKS == 4u) {
        acc1 = madd16Lanes4(acc1, a1, b0, b1, b2, b3);
        acc2 = madd16Lanes4(acc2, a2, b0, b1, b2, b3);
        acc3 = madd16Lanes4(acc3, a3, b0, b1, b2, b3);
      }
    } else {
      for (var t = 0u; t < sg; t++) {
        let bq = bQuad(bbase, cb, min(k40 + t, K4 - 1u));
        acc0 = madd16(acc0, a0, t, bq);
        if (BLOCKS == 4u) {
          acc1 = madd16(acc1, a1, t, bq);
          acc2 = madd16(acc2, a2, t, bq);
          acc3 = madd16(acc3, a3, t, bq);
        }
      }
    }
  }
  if (c4 < params.n / 4u) {
    store16(z, row0, c4, acc0);
    if (BLOCKS == 4u) {
      store16(z, row0 + 16u, c4, acc1);
      store16(z, row0 + 32u, c4, acc2);
      store16(z, row0 + 48u, c4, acc3);
    }
  }
}
