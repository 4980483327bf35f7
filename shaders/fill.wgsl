// y[i] = value for every i < n. Shapes: y (n). Dispatch: ceil(n / WG) workgroups, folded into y when over the
// limit. No backward (a constant).
override WG: u32 = 64u;

struct Params { n: u32, value: f32 }

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < params.n) { y[i] = params.value; }
}
