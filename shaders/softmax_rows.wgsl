// Barrier-free softmax.wgsl for CPU-emulated adapters (one row per thread, no workgroup reductions), and for
// GPUs when the axis is not the last one and rows are ≥ 64 elements apart (inner ≥ 64): then neighbouring threads
// read neighbouring elements. Same math: m_r = max_k x[r, k], s_r = Σ_k exp(x[r, k] − m_r), y[r, k] =
// exp(x[r, k] − m_r) / s_r (LOG = 0) or x[r, k] − m_r − log s_r (LOG = 1).
// Shapes: x, y (outer, n, inner), row r = o·inner + j with elements o·n·inner + k·inner + j.
// Dispatch: one thread per row, WG rows per workgroup (⌈outer·inner / WG⌉ workgroups, folded into a 2-D grid
// past 65535); each thread makes three passes over its row (max, sum, write). Backward: softmax_rows_backward.wgsl.
override WG: u32 = 64u;
override LOG: u32 = 0u;

struct Params { rows: u32, n: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let n = params.n;
  let step = params.inner;
  let base = (row / step) * n * step + row % step;
  let end = base + n * step;
  var m = -3.402823e38;
  for (var i = base; i < end; i += step) { m = max(m, x[i]); }
  var total = 0.0;
  for (var i = base; i < end; i += step) { total += exp(x[i] - m); }
  let shift = m + log(total);
  for (var i = base; i < end; i += step) {
    if (LOG == 1u) { y[i] = x[i] - shift; } else { y[i] = exp(x[i] - m) / total; }
  }
}
