// Repeats each slice along dim 0 `r` times in a row (torch.repeat_interleave(x, repeats=r, dim=0)):
// y[n·r + j, …] = x[n, …] for j < r. Copies u32 bits, so it serves int32 valid lengths and float32 alike.
// Shapes: x (N, …) with `inner` elements per slice, y (N·r, …); d2l §11.5 repeats validLens (B) or (B, L) once
// per head: (B·H) or (B·H, L). Dispatch: one thread per element of y, ceil(count / WG) workgroups, folded into y
// past the per-dimension limit. Backward: none (integer lengths need no gradient).
override WG: u32 = 64u;

struct Params { count: u32, inner: u32, r: u32 }

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let row = i / params.inner;
  y[i] = x[(row / params.r) * params.inner + i % params.inner];
}
