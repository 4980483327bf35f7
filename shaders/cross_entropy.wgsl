// loss[n] = logsumexp_c x[n, c] − x[n, t_n], as `F.cross_entropy(x, labels, reduction='none', ignore_index=ignore)`;
// logsumexp = m + log Σ_c exp(x[n, c] − m) with m = max_c x[n, c], so it never overflows. A row whose label is
// `ignore` gets loss 0 and weight 0 (1 otherwise): Σ weight is the divisor of PyTorch's 'mean'. A label outside
// [0, C) that is not `ignore` raises the device-side check (src/runtime/device_checks.ts, code 1: value, row, C,
// ignore) and is clamped only so that no read goes out of bounds.
// Shapes: x (N, C) float32 logits, labels (N) int32, loss (N), weight (N) float32.
// Dispatch: one workgroup of WG threads per sample (N workgroups, folded into a 2-D grid past 65535);
// threads stride over C, max and sum are workgroup tree reductions. Backward: cross_entropy_backward.wgsl.
// #import Params, row_softmax_stats from "lib/cross_entropy.wgsl"
override WG: u32 = 64u;

const CHECK_LABEL: u32 = 1u;

// x, labels: bindings 0–1 (lib/cross_entropy.wgsl).
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> err: array<atomic<u32>, 8>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let inside = row < params.n;
  let c = params.c;
  let base = row * c;

  let stats = row_softmax_stats(lid.x, row, inside);
  let m = stats.x;
  let acc = stats.y;
  if (!inside || lid.x != 0u) { return; }
  let label = labels[row];
  if (label == params.ignore) {
    loss[row] = 0.0;
    weight[row] = 0.0;
    return;
  }
  if ((label < 0 || label >= i32(c)) && atomicOr(&err[0], 1u) == 0u) {
    atomicStore(&err[1], CHECK_LABEL);
    atomicStore(&err[2], bitcast<u32>(label));
    atomicStore(&err[3], row);
    atomicStore(&err[4], c);
    atomicStore(&err[5], bitcast<u32>(params.ignore));
  }
  let t = u32(clamp(label, 0, i32(c) - 1));
  loss[row] = m + log(acc) - x[base + t];
  weight[row] = 1.0;
}
