// Joins the heads back into the feature axis, d2l §11.5 `transpose_output`: y[b, l, h·D + d] = x[b·H + h, l, d],
// i.e. x.reshape(B, H, L, D).permute(0, 2, 1, 3).reshape(B, L, H·D). Shapes: x (B·H, L, D), y (B, L, E), E = H·D.
// Dispatch: one thread per element of y, ceil(count / WG) workgroups, folded into y past the per-dimension limit.
// Backward: split_heads.wgsl (the inverse permutation).
override WG: u32 = 64u;

struct Params { count: u32, l: u32, h: u32, d: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let e = params.h * params.d;
  let d = i % params.d;
  let h = (i / params.d) % params.h;
  let l = (i / e) % params.l;
  let b = i / (e * params.l);
  y[i] = x[((b * params.h + h) * params.l + l) * params.d + d];
}
