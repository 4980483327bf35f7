// Softmax along one axis (torch.softmax / torch.log_softmax), max-subtracted: for each row r of the axis,
// m_r = max_k x[r, k], s_r = Σ_k exp(x[r, k] − m_r), and y[r, k] = exp(x[r, k] − m_r) / s_r (LOG = 0) or
// x[r, k] − m_r − log s_r (LOG = 1). Shapes: x, y (outer, n, inner) viewed around the axis of length n; row
// r = o·inner + j holds the n elements o·n·inner + k·inner + j (stride inner; inner = 1 for the last axis).
// rows = outer·inner. Dispatch: one workgroup of WG threads per row (rows workgroups, folded into a 2-D grid past
// 65535); threads stride over k, max and sum are workgroup tree reductions. Backward: softmax_backward.wgsl.
// #import workgroup_max, workgroup_sum from "lib/reduce.wgsl"
override WG: u32 = 64u;
override LOG: u32 = 0u;

struct Params { rows: u32, n: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let valid = row < params.rows;
  let n = params.n;
  let step = params.inner;
  let base = (row / step) * n * step + row % step;

  var m = -3.402823e38;
  if (valid) {
    for (var k = lid.x; k < n; k += WG) { m = max(m, x[base + k * step]); }
  }
  m = workgroup_max(lid.x, m);

  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < n; k += WG) { acc += exp(x[base + k * step] - m); }
  }
  acc = workgroup_sum(lid.x, acc);
  if (!valid) { return; }
  let total = acc;
  let shift = m + log(total);
  for (var k = lid.x; k < n; k += WG) {
    let i = base + k * step;
    if (LOG == 1u) { y[i] = x[i] - shift; } else { y[i] = exp(x[i] - m) / total; }
  }
}
