// y = x · keep / (1 − p) with keep = (u ≥ p), u = uniform(hash(seed, i)) ∈ [0, 1): the mask is a pure function of
// (seed, flat index), so the backward pass (this same kernel on dy) and the fused attention kernels, which hash
// (seed, (b·L + i)·S + j) the same way, see the same mask without storing it.
// Hash: PCG (Jarzynski & Olano, "Hash Functions for GPU Rendering", JCGT 2020); 24 high bits → u.
// Shapes: x, y (n) flat. Dispatch: ceil(n / WG) workgroups, folded into y past the limit. Backward: itself.
override WG: u32 = 64u;

struct Params { n: u32, seed: u32, p: f32, scale: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let u = f32(pcg(i + pcg(params.seed)) >> 8u) / 16777216.0;
  y[i] = select(0.0, x[i] * params.scale, u >= params.p);
}
