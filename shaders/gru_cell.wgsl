// One GRU step (torch.nn.GRU), fused after the two projections gi = x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh
// (gate blocks r, z, n in PyTorch's weight_ih_l0 order): r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
// n = tanh(gi_n + r ⊙ gh_n), y = (1 − z) ⊙ n + z ⊙ h.
// Shapes: gi, gh (B, 3H); h, y (B, H). Dispatch: one thread per (b, j), ceil(B·H / WG) workgroups, folded into y
// past the per-dimension limit. Nothing is saved: gru_cell_backward.wgsl recomputes the gates from gi, gh, h.
// #import gru_gates from "lib/rnn_gates.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, hidden: u32 }

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> gh: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let hd = params.hidden;
  let gt = gru_gates(i, hd);
  y[i] = (1.0 - gt.z) * gt.n + gt.z * h[i];
}
