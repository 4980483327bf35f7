// Backward of softmax.wgsl along one axis, with t_r = Σ_k dy[r, k]·y[r, k] (LOG = 0) or Σ_k dy[r, k] (LOG = 1):
// softmax dx[r, k] = y[r, k]·(dy[r, k] − t_r); log-softmax dx[r, k] = dy[r, k] − exp(y[r, k])·t_r (exp(y) is the
// softmax). Shapes: y, dy, dx (outer, n, inner), row r = o·inner + j with stride inner as in the forward.
// Dispatch: one workgroup of WG threads per row (outer·inner workgroups, folded into a 2-D grid past 65535);
// threads stride over k, t_r is a workgroup tree reduction. Forward: softmax.wgsl.
// #import workgroup_sum from "lib/reduce.wgsl"
override WG: u32 = 64u;
override LOG: u32 = 0u;

struct Params { rows: u32, n: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let valid = row < params.rows;
  let n = params.n;
  let step = params.inner;
  let base = (row / step) * n * step + row % step;

  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < n; k += WG) {
      let i = base + k * step;
      acc += select(dy[i] * y[i], dy[i], LOG == 1u);
    }
  }
  acc = workgroup_sum(lid.x, acc);
  if (!valid) { return; }
  let t = acc;
  for (var k = lid.x; k < n; k += WG) {
    let i = base + k * step;
    dx[i] = select(y[i] * (dy[i] - t), dy[i] - exp(y[i]) * t, LOG == 1u);
  }
}
