// y[r, k] = exp(x̃[r, k] − m_r) / Σ_j exp(x̃[r, j] − m_r), m_r = max_j x̃[r, j], where x̃[r, k] = x[r, k] for
// k < len_r and −1e6 otherwise (d2l §11.3 `masked_softmax`: masked scores are replaced, so a row with
// len 0 is uniform 1/S). len_r = valid_len(r): S when lens_rows = 0 (no mask; lens is an unread stand-in), else
// lens[r / lens_rows] (lib/valid_lens.wgsl).
// Shapes: x, y (N, S) with N = rows (B·L for d2l's (B, L, S)); lens (B) or (B, L) int32.
// Dispatch: one workgroup of WG threads per row (N workgroups, folded into a 2-D grid past 65535); threads
// stride over S, max and sum are workgroup tree reductions. Backward: masked_softmax_backward.wgsl.
// #import workgroup_max, workgroup_sum from "lib/reduce.wgsl"
// #import valid_len from "lib/valid_lens.wgsl"
override WG: u32 = 64u;

struct Params { rows: u32, s: u32, lens_rows: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> lens: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const MASKED: f32 = -1e6;

fn score(base: u32, k: u32, len: i32) -> f32 {
  return select(MASKED, x[base + k], i32(k) < len);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let valid = row < params.rows;
  let s = params.s;
  let base = row * s;
  var len = i32(s);
  if (valid) { len = valid_len(row, params.lens_rows, s); }

  var m = -3.402823e38;
  if (valid) {
    for (var k = lid.x; k < s; k += WG) { m = max(m, score(base, k, len)); }
  }
  m = workgroup_max(lid.x, m);

  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < s; k += WG) { acc += exp(score(base, k, len) - m); }
  }
  acc = workgroup_sum(lid.x, acc);
  if (!valid) { return; }
  let inv = 1.0 / acc;
  for (var k = lid.x; k < s; k += WG) { y[base + k] = exp(score(base, k, len) - m) * inv; }
}
