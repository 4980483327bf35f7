// One LSTM step (torch.nn.LSTM), fused after the two projections gi = x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh
// (gate blocks i, f, g, o in PyTorch's weight_ih_l0 order), a = gi + gh: i = σ(a_i), f = σ(a_f), g = tanh(a_g),
// o = σ(a_o), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). Both new states go to one output, y = [h'; c'], so that
// the op has a single differentiable output; the caller slices y[0] and y[1].
// Shapes: gi, gh (B, 4H); c (B, H); y (2, B, H). Dispatch: one thread per (b, j), ceil(B·H / WG) workgroups,
// folded into y past the per-dimension limit. Backward: lstm_cell_backward.wgsl (recomputes the gates).
override WG: u32 = 64u;

struct Params { n: u32, hidden: u32 }

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> gh: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// tanh(±15) is ±1 in f32; clamping keeps implementations that form e^2v from overflowing to inf/inf.
fn tanh_safe(v: f32) -> f32 { return tanh(clamp(v, -15.0, 15.0)); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= params.n) { return; }
  let hd = params.hidden;
  let a = (k / hd) * 4u * hd + k % hd;
  let i = sigmoid(gi[a] + gh[a]);
  let f = sigmoid(gi[a + hd] + gh[a + hd]);
  let g = tanh_safe(gi[a + 2u * hd] + gh[a + 2u * hd]);
  let o = sigmoid(gi[a + 3u * hd] + gh[a + 3u * hd]);
  let c1 = f * c[k] + i * g;
  y[k] = o * tanh_safe(c1);
  y[params.n + k] = c1;
}
