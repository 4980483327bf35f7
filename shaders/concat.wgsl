// Places x into y at offset a0 along one axis: y[o, a0 + k, j] = x[o, k, j] (torch.cat, one launch per input).
// Shapes: x viewed as (outer, n, inner), y as (outer, m, inner), a0 + n ≤ m; the kernel sees rows of
// xrow = n·inner and yrow = m·inner elements and offset = a0·inner. Dispatch: one thread per element of x,
// ceil(count / WG) workgroups, folded into y past the per-dimension limit. Backward: slices of dy (slice.wgsl).
override WG: u32 = 64u;

struct Params { count: u32, xrow: u32, yrow: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  y[(i / params.xrow) * params.yrow + params.offset + i % params.xrow] = x[i];
}
