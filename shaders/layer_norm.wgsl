// LayerNorm over the last dim (torch.nn.LayerNorm(D)): per row n, mean[n] = Σ_d x[n, d] / D and the BIASED
// variance σ² = Σ_d (x[n, d] − mean[n])² / D (two passes, for stability), rstd[n] = 1/√(σ² + eps),
// y = (x − mean)·rstd·weight + bias.
// Shapes: x, y (N, D) with N the product of the leading dims; weight, bias (D); mean, rstd (N), saved for the
// backward. Dispatch: one workgroup of WG threads per row (N workgroups, folded into y past 65535); threads
// stride over D, then a tree reduction. Backward: layer_norm_backward.wgsl.
// #import workgroup_sum from "lib/reduce.wgsl"
override WG: u32 = 64u;

struct Params { rows: u32, d: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers inside workgroup_sum stay legal.
  let valid = row < params.rows;
  let d = params.d;
  let base = row * d;
  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < d; k += WG) { acc += x[base + k]; }
  }
  let mu = workgroup_sum(lid.x, acc) / f32(d);
  acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < d; k += WG) {
      let e = x[base + k] - mu;
      acc += e * e;
    }
  }
  let r = 1.0 / sqrt(workgroup_sum(lid.x, acc) / f32(d) + params.eps);
  if (!valid) { return; }
  for (var k = lid.x; k < d; k += WG) {
    y[base + k] = (x[base + k] - mu) * r * weight[k] + bias[k];
  }
  if (lid.x == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}
