// Backward of masked_softmax.wgsl: dx[r, k] = y[r, k]·(dy[r, k] − Σ_j dy[r, j]·y[r, j]) for k < len_r and
// exactly 0 for k ≥ len_r (the forward replaced those scores by a constant, so they receive no gradient; a
// row with len 0 gets none at all). len_r as in the forward: valid_len(r) (lib/valid_lens.wgsl).
// Shapes: y, dy, dx (N, S) with N = rows; lens (B) or (B, L) int32.
// Dispatch: one workgroup of WG threads per row (N workgroups, folded into a 2-D grid past 65535); threads
// stride over S, the dot product is a workgroup tree reduction. Forward: masked_softmax.wgsl.
// #import workgroup_sum from "lib/reduce.wgsl"
// #import valid_len from "lib/valid_lens.wgsl"
override WG: u32 = 64u;

struct Params { rows: u32, s: u32, lens_rows: u32 }

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> lens: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

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

  // The sum runs over masked keys too: their y is part of the softmax (all of it in a len-0 row).
  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < s; k += WG) { acc += dy[base + k] * y[base + k]; }
  }
  acc = workgroup_sum(lid.x, acc);
  if (!valid) { return; }
  let dot = acc;
  for (var k = lid.x; k < s; k += WG) {
    let i = base + k;
    dx[i] = select(0.0, y[i] * (dy[i] - dot), i32(k) < len);
  }
}
