// y[i] = Σ_{t<k} x_t[i] for the up to 7 equal-shaped tensors x0…x6 of one dispatch (torch's sum of a list;
// autograd accumulates a tensor's gradient contributions with it); x_t for t ≥ k are unread 1-element dummies.
// Shapes: x_t, y (n) flat. Dispatch: one thread per element, ceil(n / WG) workgroups, folded into y past the
// per-dimension limit. Backward: dy to every input (src/ops/add_n.ts).
override WG: u32 = 64u;

struct Params { n: u32, k: u32 }

@group(0) @binding(0) var<storage, read> x0: array<f32>;
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> x2: array<f32>;
@group(0) @binding(3) var<storage, read> x3: array<f32>;
@group(0) @binding(4) var<storage, read> x4: array<f32>;
@group(0) @binding(5) var<storage, read> x5: array<f32>;
@group(0) @binding(6) var<storage, read> x6: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let k = params.k;
  var s = x0[i];
  if (k > 1u) { s += x1[i]; }
  if (k > 2u) { s += x2[i]; }
  if (k > 3u) { s += x3[i]; }
  if (k > 4u) { s += x4[i]; }
  if (k > 5u) { s += x5[i]; }
  if (k > 6u) { s += x6[i]; }
  y[i] = s;
}
