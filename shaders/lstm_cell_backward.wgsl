// Backward of lstm_cell.wgsl with dy = [dh'; dc'_in]. The gates are recomputed from gi, gh, c, then
// dc' = dc'_in + dh' ⊙ o ⊙ (1 − tanh²c'), dc = dc' ⊙ f, and the pre-activation gradients
// da_i = dc' ⊙ g ⊙ i(1 − i), da_f = dc' ⊙ c ⊙ f(1 − f), da_g = dc' ⊙ i ⊙ (1 − g²), da_o = dh' ⊙ tanh c' ⊙ o(1 − o).
// a = gi + gh, so da is the gradient of both gi and gh.
// Shapes: gi, gh, da (B, 4H); c, dc (B, H); dy (2, B, H). Dispatch: one thread per (b, j), ceil(B·H / WG)
// workgroups, folded into y past the per-dimension limit. Forward: lstm_cell.wgsl.
// #import lstm_gates, tanh_safe from "lib/rnn_gates.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, hidden: u32 }

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> gh: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> dc: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= params.n) { return; }
  let hd = params.hidden;
  let gt = lstm_gates(k, hd);
  let c0 = c[k];
  let tc = tanh_safe(gt.f * c0 + gt.i * gt.g);
  let dh1 = dy[k];
  let dc1 = dy[params.n + k] + dh1 * gt.o * (1.0 - tc * tc);
  da[gt.at] = dc1 * gt.g * gt.i * (1.0 - gt.i);
  da[gt.at + hd] = dc1 * c0 * gt.f * (1.0 - gt.f);
  da[gt.at + 2u * hd] = dc1 * gt.i * (1.0 - gt.g * gt.g);
  da[gt.at + 3u * hd] = dh1 * tc * gt.o * (1.0 - gt.o);
  dc[k] = dc1 * gt.f;
}
