// Backward of masked_softmax_rows.wgsl, barrier-free for CPU-emulated adapters: dx[r, k] = y[r, k]·(dy[r, k] −
// Σ_j dy[r, j]·y[r, j]) for k < len_r and exactly 0 for k ≥ len_r (masked scores were replaced by a constant),
// len_r as in the forward. Shapes: y, dy, dx (N, S) with N = rows; lens (B) or (B, L) int32.
// Dispatch: one thread per row, WG rows per workgroup (⌈N / WG⌉ workgroups, folded into a 2-D grid past 65535).
// Forward: masked_softmax_rows.wgsl.
// #import valid_len from "lib/valid_lens.wgsl"
override WG: u32 = 64u;

struct Params { rows: u32, s: u32, lens_rows: u32 }

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> lens: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let s = params.s;
  let base = row * s;
  let len = u32(max(valid_len(row, params.lens_rows, s), 0));
  let valid = min(len, s);
  var dot = 0.0;
  for (var k = 0u; k < s; k++) { dot += dy[base + k] * y[base + k]; }
  for (var k = 0u; k < valid; k++) { dx[base + k] = y[base + k] * (dy[base + k] - dot); }
  for (var k = valid; k < s; k++) { dx[base + k] = 0.0; }
}
