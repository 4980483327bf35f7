// The PCG hash (Jarzynski & Olano 2020, "Hash Functions for GPU Rendering", pcg_hash) that every random draw of the
// kernels uses, and its uniform float. The CPU references use the same hash: dropoutUniform in src/ops/dropout.ts.

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// u ∈ [0, 1) from the top 24 bits of pcg(idx + hseed), hseed = pcg(seed): dropout's draw for flat index idx.
fn hash_uniform(idx: u32, hseed: u32) -> f32 {
  return f32(pcg(idx + hseed) >> 8u) / 16777216.0;
}

// hash_uniform at 4 flat indices at once: the draws of a block of 4 keys (or query rows) in the _named attention
// kernels.
fn hash_uniform4(idx: vec4u, hseed: u32) -> vec4f {
  return vec4f(hash_uniform(idx.x, hseed), hash_uniform(idx.y, hseed), hash_uniform(idx.z, hseed),
               hash_uniform(idx.w, hseed));
}
