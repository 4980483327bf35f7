// Table lookup, torch.nn.functional.embedding: y[n, e] = w[clamp(idx[n], 0, V − 1), e]. Out-of-range indices are
// clamped (PyTorch raises; a kernel cannot), and the CPU reference clamps the same way.
// Shapes: w (V, E) float32, idx (N) int32 (any shape, flattened), y (N, E).
// Dispatch: one thread per element of y, ceil(N·E / WG) workgroups, folded into y past the per-dimension limit.
// Backward: embedding_backward.wgsl.
override WG: u32 = 64u;

struct Params { count: u32, v: u32, e: u32 }

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let row = u32(clamp(idx[i / params.e], 0, i32(params.v) - 1));
  y[i] = w[row * params.e + i % params.e];
}
