// Splits the feature axis into heads, d2l §11.5 `transpose_qkv`: y[b·H + h, l, d] = x[b, l, h·D + d], i.e.
// x.reshape(B, L, H, D).permute(0, 2, 1, 3).reshape(B·H, L, D). Shapes: x (B, L, E) with E = H·D, y (B·H, L, D).
// Dispatch: one thread per element of y, ceil(count / WG) workgroups, folded into y past the per-dimension limit.
// Backward: merge_heads.wgsl (the inverse permutation).
override WG: u32 = 64u;

struct Params { count: u32, l: u32, h: u32, d: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let d = i % params.d;
  let l = (i / params.d) % params.l;
  let bh = i / (params.d * params.l);
  let b = bh / params.h;
  let h = bh % params.h;
  y[i] = x[((b * params.l + l) * params.h + h) * params.d + d];
}
