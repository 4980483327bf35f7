// w[b, i, j] = P[b, i, j] = exp(s̃[b, i, j] − lse[b, i]), the attention weights before dropout, from q, k and the lse
// that sdpa_forward.wgsl saved (so returnWeights does not fall back to the unfused path): s̃ = scale·q[b, i]·k[b, j]
// where key j is valid for row i (j < len_{b,i}, and j ≤ i when CAUSAL), P = 0 at masked keys, and 1/S in a row
// without any valid key (d2l's uniform row, computed directly: exp(s̃ − lse) would lose it to the float32 rounding
// of lse ≈ −1e6 + log S). Shapes: q (B, L, D), k (B, S, D), lens (B) or (B, L) int32 (lens_rows = L / 1; 0:
// unread), lse (B, L), w (B, L, S). Dispatch: one thread per weight, ceil(B·L·S / WG) workgroups folded into y past
// 65535. Backward: none (the weights are returned for inspection; differentiate them with the unfused path).
// #import valid_len from "lib/valid_lens.wgsl"
override WG: u32 = 64u;
override CAUSAL: bool = false;

struct Params { n: u32, l: u32, s: u32, d: u32, lens_rows: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> lens: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> w: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let x = gid.x + gid.y * nwg.x * WG;
  if (x >= params.n) { return; }
  let S = params.s;
  let row = x / S;
  let j = x % S;
  let i = row % params.l;
  let b = row / params.l;
  let len = valid_len(row, params.lens_rows, S);
  if (len <= 0) {
    w[x] = 1.0 / f32(S);
    return;
  }
  if (i32(j) >= len || (CAUSAL && j > i)) {
    w[x] = 0.0;
    return;
  }
  var qk = 0.0;
  let qb = row * params.d;
  let kb = (b * S + j) * params.d;
  for (var e = 0u; e < params.d; e++) { qk += q[qb + e] * k[kb + e]; }
  w[x] = exp(qk * params.scale - lse[row]);
}
