// One LSTM step (torch.nn.LSTM), fused after the two projections gi = x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh
// (gate blocks i, f, g, o in PyTorch's weight_ih_l0 order), a = gi + gh: i = σ(a_i), f = σ(a_f), g = tanh(a_g),
// o = σ(a_o), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). Both new states go to one output, y = [h'; c'], so that
// the op has a single differentiable output; the caller slices y[0] and y[1].
// Shapes: gi, gh (B, 4H); c (B, H); y (2, B, H). Dispatch: one thread per (b, j), ceil(B·H / WG) workgroups,
// folded into y past the per-dimension limit. Backward: lstm_cell_backward.wgsl (recomputes the gates).
// #import lstm_gates, tanh_safe from "lib/rnn_gates.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, hidden: u32 }

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> gh: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= params.n) { return; }
  let hd = params.hidden;
  let gt = lstm_gates(k, hd);
  let c1 = gt.f * c[k] + gt.i * gt.g;
  y[k] = gt.o * tanh_safe(c1);
  y[params.n + k] = c1;
}
