// stats[r] = (lse[r], delta[r]) with delta[r] = Σ_e dy[r, e]·o[r, e] (FlashAttention-2's Dᵢ = rowsum(dO ∘ O) =
// Σ_j P̃ᵢⱼ dP̃ᵢⱼ, also with dropout, since O = P̃ V with the dropped weights P̃), read by the dq and dk/dv kernels.
// lse rides along so that those kernels bind one buffer for both: dk/dv then fits WebGPU's default limit of 8
// storage buffers per stage. Shapes: o, dy (N, DV) with N = B·L rows; lse (N); stats (N, 2).
// Dispatch: one thread per row, ceil(N / WG) workgroups folded into y past 65535. Backward: none (part of the
// backward of sdpa_forward.wgsl).
override WG: u32 = 64u;

struct Params { n: u32, dv: u32 }

@group(0) @binding(0) var<storage, read> o: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<vec2f>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.n) { return; }
  var acc = 0.0;
  for (var e = r * params.dv; e < (r + 1u) * params.dv; e++) { acc += dy[e] * o[e]; }
  stats[r] = vec2f(lse[r], acc);
}
