// Backward of gru_cell.wgsl. The gates are recomputed from gi, gh, h (cheaper than storing them), then
// dn = dy ⊙ (1 − z), dz = dy ⊙ (h − n), dh = dy ⊙ z (the direct path; the path through gh is matmul's),
// da_n = dn ⊙ (1 − n²), dr = da_n ⊙ gh_n, da_r = dr ⊙ r(1 − r), da_z = dz ⊙ z(1 − z);
// dgi = (da_r, da_z, da_n), dgh = (da_r, da_z, da_n ⊙ r) in the r, z, n gate blocks.
// Shapes: gi, gh, dgi, dgh (B, 3H); h, dy, dh (B, H). Dispatch: one thread per (b, j), ceil(B·H / WG) workgroups,
// folded into y past the per-dimension limit. Forward: gru_cell.wgsl.
// #import gru_gates from "lib/rnn_gates.wgsl"
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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let hd = params.hidden;
  let gt = gru_gates(i, hd);
  let d = dy[i];
  let dan = d * (1.0 - gt.z) * (1.0 - gt.n * gt.n);
  let dar = dan * gt.ghn * gt.r * (1.0 - gt.r);
  let daz = d * (h[i] - gt.n) * gt.z * (1.0 - gt.z);
  dgi[gt.at] = dar;
  dgi[gt.at + hd] = daz;
  dgi[gt.at + 2u * hd] = dan;
  dgh[gt.at] = dar;
  dgh[gt.at + hd] = daz;
  dgh[gt.at + 2u * hd] = dan * gt.r;
  dh[i] = d * gt.z;
}
