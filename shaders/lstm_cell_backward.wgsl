// Backward of lstm_cell.wgsl with dy = [dh'; dc'_in]. The gates are recomputed from gi, gh, c, then
// dc' = dc'_in + dh' ⊙ o ⊙ (1 − tanh²c'), dc = dc' ⊙ f, and the pre-activation gradients
// da_i = dc' ⊙ g ⊙ i(1 − i), da_f = dc' ⊙ c ⊙ f(1 − f), da_g = dc' ⊙ i ⊙ (1 − g²), da_o = dh' ⊙ tanh c' ⊙ o(1 − o).
// a = gi + gh, so da is the gradient of both gi and gh.
// Shapes: gi, gh, da (B, 4H); c, dc (B, H); dy (2, B, H). Dispatch: one thread per (b, j), ceil(B·H / WG)
// workgroups, folded into y past the per-dimension limit. Forward: lstm_cell.wgsl.
override WG: u32 = 64u;

struct Params { n: u32, hidden: u32 }

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> gh: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> dc: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// Must match lstm_cell.wgsl so that the recomputed states are the forward's.
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
  let c0 = c[k];
  let tc = tanh_safe(f * c0 + i * g);
  let dh1 = dy[k];
  let dc1 = dy[params.n + k] + dh1 * o * (1.0 - tc * tc);
  da[a] = dc1 * g * i * (1.0 - i);
  da[a + hd] = dc1 * c0 * f * (1.0 - f);
  da[a + 2u * hd] = dc1 * i * (1.0 - g * g);
  da[a + 3u * hd] = dh1 * tc * o * (1.0 - o);
  dc[k] = dc1 * f;
}
