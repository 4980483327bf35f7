// Copies a range along one axis: y[o, k, j] = x[o, a0 + k, j] (x.narrow(axis, a0, m).contiguous()).
// Shapes: x viewed as (outer, n, inner), y as (outer, m, inner), a0 + m ≤ n; the kernel sees rows of
// xrow = n·inner and yrow = m·inner elements and offset = a0·inner. Dispatch: one thread per element of y,
// ceil(count / WG) workgroups, folded into y past the per-dimension limit. Backward: dy placed into zeros
// (concat.wgsl).
override WG: u32 = 64u;

struct Params { count: u32, xrow: u32, yrow: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  y[i] = x[(i / params.yrow) * params.xrow + params.offset + i % params.yrow];
}
