// Backward of slice.wgsl, dy placed into zeros in one launch: dx[o, k, j] = dy[o, k − a0, j] for
// a0 ≤ k < a0 + m, else 0. Shapes: dx viewed as (outer, n, inner), dy as (outer, m, inner); the kernel sees rows of
// xrow = n·inner and yrow = m·inner elements and offset = a0·inner. Dispatch: one thread per element of dx,
// ceil(count / WG) workgroups, folded into y past the per-dimension limit. Backward: none (not needed).
override WG: u32 = 64u;

struct Params { count: u32, xrow: u32, yrow: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let r = i % params.xrow;
  var v = 0.0;
  if (r >= params.offset && r - params.offset < params.yrow) {
    v = dy[(i / params.xrow) * params.yrow + r - params.offset];
  }
  dx[i] = v;
}
