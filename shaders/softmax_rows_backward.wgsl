// Backward of softmax_rows.wgsl, one row per thread without barriers: t_r = Σ_k dy[r, k]·y[r, k] (LOG = 0) or
// Σ_k dy[r, k] (LOG = 1); softmax dx[r, k] = y[r, k]·(dy[r, k] − t_r), log-softmax dx[r, k] = dy[r, k] −
// exp(y[r, k])·t_r. Shapes: y, dy, dx (outer, n, inner), row r = o·inner + j with stride inner.
// Dispatch: one thread per row, WG rows per workgroup (⌈outer·inner / WG⌉ workgroups, folded into a 2-D grid past
// 65535). Forward: softmax_rows.wgsl.
override WG: u32 = 64u;
override LOG: u32 = 0u;

struct Params { rows: u32, n: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let step = params.inner;
  let base = (row / step) * params.n * step + row % step;
  let end = base + params.n * step;
  var t = 0.0;
  for (var i = base; i < end; i += step) { t += select(dy[i] * y[i], dy[i], LOG == 1u); }
  for (var i = base; i < end; i += step) {
    dx[i] = select(y[i] * (dy[i] - t), dy[i] - exp(y[i]) * t, LOG == 1u);
  }
}
