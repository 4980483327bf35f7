// Barrier-free masked_softmax for CPU-emulated adapters (lavapipe, SwiftShader), where a workgroup barrier
// costs more than the arithmetic: the same y[r, k] = exp(x̃[r, k] − m_r) / Σ_j exp(x̃[r, j] − m_r) as
// masked_softmax.wgsl, with x̃[r, k] = x[r, k] for k < len_r and −1e6 otherwise (d2l §11.3), len_r = valid_len(r)
// (lib/valid_lens.wgsl: S without lengths, else lens[r / lens_rows]).
// Shapes: x, y (N, S) with N = rows; lens (B) or (B, L) int32.
// Dispatch: one thread per row, WG rows per workgroup (⌈N / WG⌉ workgroups, folded into a 2-D grid past 65535);
// each thread makes three passes over its row (max, sum, write). Backward: masked_softmax_rows_backward.wgsl.
// #import valid_len from "lib/valid_lens.wgsl"
override WG: u32 = 64u;

struct Params { rows: u32, s: u32, lens_rows: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> lens: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const MASKED: f32 = -1e6;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let s = params.s;
  let base = row * s;
  let len = u32(max(valid_len(row, params.lens_rows, s), 0));
  let valid = min(len, s);
  // Masked keys all score −1e6: they enter the max once (if any) and the sum as a count.
  var m = select(-3.402823e38, MASKED, valid < s);
  for (var k = 0u; k < valid; k++) { m = max(m, x[base + k]); }
  var total = f32(s - valid) * exp(MASKED - m);
  for (var k = 0u; k < valid; k++) { total += exp(x[base + k] - m); }
  let inv = 1.0 / total;
  for (var k = 0u; k < valid; k++) { y[base + k] = exp(x[base + k] - m) * inv; }
  let masked = exp(MASKED - m) * inv;
  for (var k = valid; k < s; k++) { y[base + k] = masked; }
}
