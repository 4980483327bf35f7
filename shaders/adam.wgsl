// One torch.optim.Adam step (or AdamW with DECOUPLED), step t ≥ 1:
// Adam: g ← g + weight_decay·p (L2); AdamW: p ← p·(1 − lr·weight_decay). Then m_new = β1·m + (1 − β1)·g,
// v_new = β2·v + (1 − β2)·g², p_new = p − step_size·m_new/(√v_new/bc2_sqrt + eps) with step_size = lr/(1 − β1^t)
// and bc2_sqrt = √(1 − β2^t), the bias corrections of m̂ and v̂ folded in as PyTorch does.
// Shapes: p, g, m, v, p_new, m_new, v_new (n) flat. Dispatch: ceil(n / WG) workgroups, folded into a 2-D grid
// past 65535. No backward (an optimizer update).
override WG: u32 = 64u;
override DECOUPLED: bool = false;

struct Params {
  n: u32, lr: f32, weight_decay: f32, beta1: f32, beta2: f32, eps: f32, step_size: f32, bc2_sqrt: f32,
}

@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> p_new: array<f32>;
@group(0) @binding(5) var<storage, read_write> m_new: array<f32>;
@group(0) @binding(6) var<storage, read_write> v_new: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var w = p[i];
  var grad = g[i];
  if (DECOUPLED) {
    w = w * (1.0 - params.lr * params.weight_decay);
  } else {
    grad = grad + params.weight_decay * w;
  }
  let m1 = params.beta1 * m[i] + (1.0 - params.beta1) * grad;
  let v1 = params.beta2 * v[i] + (1.0 - params.beta2) * grad * grad;
  m_new[i] = m1;
  v_new[i] = v1;
  p_new[i] = w - params.step_size * m1 / (sqrt(v1) / params.bc2_sqrt + params.eps);
}
