// y = a · b for 2-D operands read from read-only storage textures that src/ops/matmul.ts fills with
// copyBufferToTexture just before the dispatch (no transposes: the other products run matmul_subgroup.wgsl).
// Shapes: a (M, K), b (K, N), y (M, N); K a multiple of 4·SG and N of 64 (whole texel rows for the copies).
// Textures: `at` is a as it lies, (K / 4, M) texels, texel (k4, m) = a[m, 4·k4 .. 4·k4 + 3]; `bt` holds b in
// panels, one array layer per 8·SG columns: texel (x, k) of layer s = b[k, 4·(2·SG·s + x) .. + 3].
// Dispatch: (ceil(M / 32), ceil(N / (8·WG))); WG a multiple of SG. A workgroup owns 32 rows of y; each of its
// subgroups owns one panel (8·SG columns) of them, lane l its column groups l and l + SG of the panel.
// Each lane reads the a values of one k-block (32 rows × 4 k) and subgroupShuffle hands them to the others,
// as in matmul_subgroup.wgsl.
// Why textures (lavapipe, Mesa 25; shaders/README.md has the measurements): a storage-buffer load is a per-lane
// gather of about 8 instructions per lane and component, while a read-only storage texel fetch is one call that
// loads 16 bytes per lane, about 2 per element. With loads that cheap the tile that decides the speed is the one
// whose loop still fits the front end: 32 × 64 per subgroup, each a row shuffled once for both column groups
// (64 × 64 spilled past it: 36 GFLOP/s). A panel's rows are contiguous, so a subgroup streams b in order, and row
// blocks run fastest in the grid (wid.x), so consecutive workgroups share the panels (4096²: 47 → 55 GFLOP/s).
// Rows past M read whatever textureLoad returns out of bounds and are never stored.
enable subgroups;
requires readonly_and_readwrite_storage_textures;
// #import Quad, madd, Rows16, ZERO16, store, storeQuad, store16 from "lib/matmul_quads.wgsl"

override WG: u32 = 64u;
// The subgroup size (lanes): the panel width is 2·SG texels and K steps SG k-blocks at a time.
override SG: u32 = 8u;

struct Params { m: u32, n: u32, k: u32 }

@group(0) @binding(0) var at: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var bt: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(3) var<uniform> params: Params;

// a[row .. row + 3, 4·k4 .. 4·k4 + 3].
fn aQuad(row: u32, k4: u32) -> Quad {
  return Quad(textureLoad(at, vec2u(k4, row)), textureLoad(at, vec2u(k4, row + 1u)),
              textureLoad(at, vec2u(k4, row + 2u)), textureLoad(at, vec2u(k4, row + 3u)));
}

// a[row .. row + 15, 4·k4 .. 4·k4 + 3].
fn aRows16(row: u32, k4: u32) -> Rows16 {
  return Rows16(aQuad(row, k4), aQuad(row + 4u, k4), aQuad(row + 8u, k4), aQuad(row + 12u, k4));
}

// b[4·k4 .. 4·k4 + 3, 4·(2·SG·s + x) .. + 3]: texel column x of panel s.
fn bQuad(s: u32, x: u32, k4: u32) -> Quad {
  return Quad(textureLoad(bt, vec2u(x, 4u * k4), s), textureLoad(bt, vec2u(x, 4u * k4 + 1u), s),
              textureLoad(bt, vec2u(x, 4u * k4 + 2u), s), textureLoad(bt, vec2u(x, 4u * k4 + 3u), s));
}

// The accumulators of 16 rows in a lane's two column groups.
struct Pair { lo: Rows16, hi: Rows16 }

// One row: lane t's a value shuffled once, multiplied into both column groups.
fn maddRow(acc: vec4f, bcc: vec4f, av: vec4f, t: u32, bq: Quad, bq2: Quad) -> array<vec4f, 2> {
  let v = subgroupShuffle(av, t);
  return array<vec4f, 2>(madd(acc, v, bq), madd(bcc, v, bq2));
}

fn maddQuad(lo: Quad, hi: Quad, a: Quad, t: u32, bq: Quad, bq2: Quad) -> array<Quad, 2> {
  let r0 = maddRow(lo.r0, hi.r0, a.r0, t, bq, bq2);
  let r1 = maddRow(lo.r1, hi.r1, a.r1, t, bq, bq2);
  let r2 = maddRow(lo.r2, hi.r2, a.r2, t, bq, bq2);
  let r3 = maddRow(lo.r3, hi.r3, a.r3, t, bq, bq2);
  return array<Quad, 2>(Quad(r0[0], r1[0], r2[0], r3[0]), Quad(r0[1], r1[1], r2[1], r3[1]));
}

// acc + lane t's 16 rows of a (its k-block) times b's 4 rows there, in both column groups (bq, bq2).
fn madd16(acc: Pair, a: Rows16, t: u32, bq: Quad, bq2: Quad) -> Pair {
  let q0 = maddQuad(acc.lo.q0, acc.hi.q0, a.q0, t, bq, bq2);
  let q1 = maddQuad(acc.lo.q1, acc.hi.q1, a.q1, t, bq, bq2);
  let q2 = maddQuad(acc.lo.q2, acc.hi.q2, a.q2, t, bq, bq2);
  let q3 = maddQuad(acc.lo.q3, acc.hi.q3, a.q3, t, bq, bq2);
  return Pair(Rows16(q0[0], q1[0], q2[0], q3[0]), Rows16(q0[1], q1[1], q2[1], q3[1]));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.x * 32u;
  let s = wid.y * (WG / SG) + lid.x / SG;
  var p0 = Pair(ZERO16, ZERO16);
  var p1 = p0;
  for (var k40 = 0u; k40 < params.k / 4u; k40 += SG) {
    let a0 = aRows16(row0, k40 + lane);
    let a1 = aRows16(row0 + 16u, k40 + lane);
    for (var t = 0u; t < SG; t++) {
      let bq = bQuad(s, lane, k40 + t);
      let bq2 = bQuad(s, lane + SG, k40 + t);
      p0 = madd16(p0, a0, t, bq, bq2);
      p1 = madd16(p1, a1, t, bq, bq2);
    }
  }
  let N4 = params.n / 4u;
  let c4 = 2u * SG * s + lane;
  if (c4 < N4) {
    store16(0u, row0, c4, p0.lo);
    store16(0u, row0 + 16u, c4, p1.lo);
  }
  if (c4 + SG < N4) {
    store16(0u, row0, c4 + SG, p0.hi);
    store16(0u, row0 + 16u, c4 + SG, p1.hi);
  }
}
