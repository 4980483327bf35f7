// y = x · keep / (1 − p) with keep = (u ≥ p), u = uniform(hash(seed, i)) ∈ [0, 1): the mask is a pure function of
// (seed, flat index), so the backward pass (this same kernel on dy) and the fused attention kernels, which hash
// (seed, (b·L + i)·S + j) the same way, see the same mask without storing it.
// Hash: PCG (lib/hash.wgsl); 24 high bits → u.
// Shapes: x, y (n) flat. Dispatch: ceil(n / WG) workgroups, folded into y past the limit. Backward: itself.
// #import pcg, hash_uniform from "lib/hash.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, seed: u32, p: f32, scale: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let u = hash_uniform(i, pcg(params.seed));
  y[i] = select(0.0, x[i] * params.scale, u >= params.p);
}
