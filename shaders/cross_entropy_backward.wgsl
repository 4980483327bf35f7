// Backward of cross_entropy.wgsl: dx[n, c] = (softmax_c(x[n, :]) − [c = t_n])·dloss[n] with t_n = labels[n]
// (clamped into [0, C) for the reads only: the forward already raised the check), and dx[n, :] = 0 where
// labels[n] = ignore, as PyTorch's ignore_index. The softmax is recomputed (max, then Σ exp) rather than saved, so
// the forward keeps no extra output. Shapes: x, dx (N, C) float32; labels (N) int32; dloss (N).
// Dispatch: one workgroup of WG threads per sample (N workgroups, folded into a 2-D grid past 65535);
// threads stride over C, max and sum are workgroup tree reductions. Forward: cross_entropy.wgsl.
// #import Params, row_softmax_stats from "lib/cross_entropy.wgsl"
override WG: u32 = 64u;

// x, labels: bindings 0–1 (lib/cross_entropy.wgsl).
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let valid = row < params.n;
  let c = params.c;
  let base = row * c;

  let stats = row_softmax_stats(lid.x, row, valid);
  let m = stats.x;
  let acc = stats.y;
  if (!valid) { return; }
  let inv = 1.0 / acc;
  let label = labels[row];
  let ignored = label == params.ignore;
  let t = u32(clamp(label, 0, i32(c) - 1));
  let g = dloss[row];
  for (var k = lid.x; k < c; k += WG) {
    let p = exp(x[base + k] - m) * inv;
    // select, not a multiply by 0: an ignored row stays exactly 0 even where dloss is infinite.
    dx[base + k] = select((p - select(0.0, 1.0, k == t)) * g, 0.0, ignored);
  }
}
