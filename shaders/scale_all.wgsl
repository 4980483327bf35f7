// y_t[i] = c · x_t[i] for the up to 3 tensors x0…x2 of one launch, with one scalar c read from a buffer (computed
// on the device: clip_grad_norm_'s coefficient, so nothing is read back); x_t past the op's count are unread
// 1-element dummies with n_t = 0. Shapes: x_t, y_t (n_t) flat; c (1). Dispatch: one thread per element of the
// largest x_t, ceil(max n_t / WG) workgroups, folded into y past the per-dimension limit. Backward: none.
override WG: u32 = 64u;

struct Params { n0: u32, n1: u32, n2: u32 }

@group(0) @binding(0) var<storage, read> x0: array<f32>;
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> x2: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> y2: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let s = c[0];
  if (i < params.n0) { y0[i] = s * x0[i]; }
  if (i < params.n1) { y1[i] = s * x1[i]; }
  if (i < params.n2) { y2[i] = s * x2[i]; }
}
