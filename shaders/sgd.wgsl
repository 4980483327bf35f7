// One torch.optim.SGD step (dampening 0, no Nesterov): d = g + weight_decay·p; with MOMENTUM,
// b_new = momentum·b + d and d = b_new (b starts at zeros, which equals PyTorch's b₁ = d₁); p_new = p − lr·d.
// Shapes: p, g, p_new (n) flat; b, b_new (n) the momentum buffer (bound to 1-element scratch without MOMENTUM).
// Dispatch: ceil(n / WG) workgroups, folded into a 2-D grid past 65535. No backward (an optimizer update).
override WG: u32 = 64u;
override MOMENTUM: bool = false;

struct Params { n: u32, lr: f32, weight_decay: f32, momentum: f32 }

@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> p_new: array<f32>;
@group(0) @binding(4) var<storage, read_write> b_new: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var d = g[i] + params.weight_decay * p[i];
  if (MOMENTUM) {
    d = params.momentum * b[i] + d;
    b_new[i] = d;
  }
  p_new[i] = p[i] - params.lr * d;
}
