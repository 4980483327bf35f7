// Backward of gru_cell.wgsl. The gates are recomputed from gi, gh, h (cheaper than storing them), then
// dn = dy ⊙ (1 − z), dz = dy ⊙ (h − n), dh = dy ⊙ z (the direct path; the path through gh is matmul's),
// da_n = dn ⊙ (1 − n²), dr = da_n ⊙ gh_n, da_r = dr ⊙ r(1 − r), da_z = dz ⊙ z(1 − z);
// dgi = (da_r, da_z, da_n), dgh = (da_r, da_z, da_n ⊙ r) in the r, z, n gate blocks.
// Shapes: gi, gh, dgi, dgh (B, 3H); h, dy, dh (B, H). Dispatch: one thread per (b, j), ceil(B·H / WG) workgroups,
// folded into y past the per-dimension limit. Forward: gru_cell.wgsl.
override WG: u32 = 64u;

struct Params { n: u32, hidden: u32 }

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> gh: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgi: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(6) var<storage, read_write> dh: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// Must match gru_cell.wgsl so that the recomputed n is the forward's.
fn tanh_safe(v: f32) -> f32 { return tanh(clamp(v, -15.0, 15.0)); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let hd = params.hidden;
  let g = (i / hd) * 3u * hd + i % hd;
  let r = sigmoid(gi[g] + gh[g]);
  let z = sigmoid(gi[g + hd] + gh[g + hd]);
  let ghn = gh[g + 2u * hd];
  let n = tanh_safe(gi[g + 2u * hd] + r * ghn);
  let d = dy[i];
  let dan = d * (1.0 - z) * (1.0 - n * n);
  let dar = dan * ghn * r * (1.0 - r);
  let daz = d * (h[i] - n) * z * (1.0 - z);
  dgi[g] = dar;
  dgi[g + hd] = daz;
  dgi[g + 2u * hd] = dan;
  dgh[g] = dar;
  dgh[g + hd] = daz;
  dgh[g + 2u * hd] = dan * r;
  dh[i] = d * z;
}
