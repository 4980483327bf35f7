// Backward of layer_norm.wgsl, with x̂ = (x − mean)·rstd and g = dy ⊙ weight, in two passes (override PASS):
//   PASS 0, rows:    dx[n, :] = rstd[n] / D · (D·g − Σ_d g − x̂ · Σ_d g·x̂);
//   PASS 1, columns: dweight[d] = Σ_n dy·x̂, dbias[d] = Σ_n dy, a column reduction without float atomics.
// Shapes: x, dy, dx (N, D); weight, dweight, dbias (D); mean, rstd (N), saved by the forward.
// Dispatch: PASS 0, one workgroup of WG threads per row (N workgroups, folded into y past 65535), threads stride
// over D, one tree reduction of both sums. PASS 1, one workgroup per COLS adjacent columns (ceil(D / COLS), folded
// likewise): WG / COLS row lanes per column stride over N (adjacent threads read adjacent columns), then a tree
// reduction over the lanes. Both passes write every output element they own. Forward: layer_norm.wgsl.
// #import workgroup_sum2 from "lib/reduce.wgsl"
override PASS: u32 = 0u;
override WG: u32 = 64u;
override COLS: u32 = 8u;

struct Params { rows: u32, d: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

// PASS 1: (Σ dy·x̂, Σ dy) per (lane, column); PASS 0 reduces (Σ g, Σ g·x̂) with workgroup_sum2.
var<workgroup> partial: array<vec2f, WG>;

fn rows_pass(lid: u32, row: u32) {
  let valid = row < params.rows;
  let d = params.d;
  let base = row * d;
  var mu = 0.0;
  var r = 0.0;
  var acc = vec2f(0.0);
  if (valid) {
    mu = mean[row];
    r = rstd[row];
    for (var k = lid; k < d; k += WG) {
      let g = dy[base + k] * weight[k];
      acc += vec2f(g, g * (x[base + k] - mu) * r);
    }
  }
  let sums = workgroup_sum2(lid, acc);
  if (!valid) { return; }
  let sum_g = sums.x;
  let sum_gx = sums.y;
  for (var k = lid; k < d; k += WG) {
    let g = dy[base + k] * weight[k];
    let xhat = (x[base + k] - mu) * r;
    dx[base + k] = r / f32(d) * (f32(d) * g - sum_g - xhat * sum_gx);
  }
}

fn columns_pass(lid: u32, tile: u32) {
  let col = tile * COLS + lid % COLS;
  let lane = lid / COLS;
  let lanes = WG / COLS;
  let valid = col < params.d;
  var acc = vec2f(0.0);
  if (valid) {
    for (var n = lane; n < params.rows; n += lanes) {
      let i = n * params.d + col;
      let e = dy[i];
      acc += vec2f(e * (x[i] - mean[n]) * rstd[n], e);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  // Lanes of one column sit COLS apart: halve the lane count each step.
  for (var s = lanes / 2u; s > 0u; s = s / 2u) {
    if (lane < s) { partial[lid] += partial[lid + s * COLS]; }
    workgroupBarrier();
  }
  if (valid && lane == 0u) {
    dweight[col] = partial[lid].x;
    dbias[col] = partial[lid].y;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  // PASS is a pipeline constant, so this branch is uniform and the barriers inside stay legal.
  if (PASS == 0u) {
    rows_pass(lid.x, wid.x + wid.y * nwg.x);
  } else {
    columns_pass(lid.x, wid.x + wid.y * nwg.x);
  }
}
