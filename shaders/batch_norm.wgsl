// BatchNorm1d, training mode (torch.nn.BatchNorm1d): per channel c, mean[c] = Σ_k x[k, c] / N and the BIASED
// variance[c] = Σ_k (x[k, c] − mean[c])² / N (two passes, for stability); y = (x − mean)/√(variance + eps)·gamma + beta.
// Shapes: x, y (N, C); gamma, beta, mean, variance (C). Dispatch: one workgroup of WG threads per channel
// (C workgroups, folded into a 2-D grid past 65535); threads stride over the N rows, then a tree reduction.
// Backward: batch_norm_backward.wgsl.
// #import workgroup_sum from "lib/reduce.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, c: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> variance: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let ch = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers inside workgroup_sum stay legal.
  let valid = ch < params.c;
  let n = params.n;
  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < n; k += WG) { acc += x[k * params.c + ch]; }
  }
  let mu = workgroup_sum(lid.x, acc) / f32(n);
  acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < n; k += WG) {
      let d = x[k * params.c + ch] - mu;
      acc += d * d;
    }
  }
  let sigma2 = workgroup_sum(lid.x, acc) / f32(n);
  if (!valid) { return; }
  let scale = gamma[ch] / sqrt(sigma2 + params.eps);
  let shift = beta[ch];
  for (var k = lid.x; k < n; k += WG) {
    let i = k * params.c + ch;
    y[i] = (x[i] - mu) * scale + shift;
  }
  if (lid.x == 0u) {
    mean[ch] = mu;
    variance[ch] = sigma2;
  }
}
