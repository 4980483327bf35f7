// Backward of batch_norm.wgsl (training mode), per channel c with x̂ = (x − mean)·invstd, invstd = 1/√(variance + eps):
// dbeta = Σ_k dy, dgamma = Σ_k dy·x̂, dx = gamma·invstd/N · (N·dy − dbeta − x̂·dgamma).
// Shapes: x, dy, dx (N, C); gamma, mean, variance (the forward's saved batch statistics), dgamma, dbeta (C).
// Dispatch: one workgroup of WG threads per channel (C workgroups, folded into a 2-D grid past 65535); threads
// stride over the N rows, both sums share one tree reduction, then dx is written. Forward: batch_norm.wgsl.
// #import workgroup_sum2 from "lib/reduce.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, c: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let ch = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let valid = ch < params.c;
  let n = params.n;
  var mu = 0.0;
  var invstd = 0.0;
  var acc = vec2f(0.0);
  if (valid) {
    mu = mean[ch];
    invstd = 1.0 / sqrt(variance[ch] + params.eps);
    for (var k = lid.x; k < n; k += WG) {
      let i = k * params.c + ch;
      acc += vec2f(dy[i], dy[i] * (x[i] - mu) * invstd);
    }
  }
  // (Σ dy, Σ dy·x̂), reduced together.
  let sums = workgroup_sum2(lid.x, acc);
  if (!valid) { return; }
  let sum_dy = sums.x;
  let sum_dy_xhat = sums.y;
  let scale = gamma[ch] * invstd / f32(n);
  for (var k = lid.x; k < n; k += WG) {
    let i = k * params.c + ch;
    let xhat = (x[i] - mu) * invstd;
    dx[i] = scale * (f32(n) * dy[i] - sum_dy - xhat * sum_dy_xhat);
  }
  if (lid.x == 0u) {
    dgamma[ch] = sum_dy_xhat;
    dbeta[ch] = sum_dy;
  }
}
