// Backward of cross_entropy.wgsl: dx[n, c] = (softmax_c(x[n, :]) − [c = t_n])·dloss[n] with t_n = labels[n]
// (clamped into [0, C) for the reads only: the forward already raised the check), and dx[n, :] = 0 where
// labels[n] = ignore, as PyTorch's ignore_index. The softmax is recomputed (max, then Σ exp) rather than saved, so
// the forward keeps no extra output. Shapes: x, dx (N, C) float32; labels (N) int32; dloss (N).
// Dispatch: one workgroup of WG threads per sample (N workgroups, folded into a 2-D grid past 65535);
// threads stride over C, max and sum are workgroup tree reductions. Forward: cross_entropy.wgsl.
override WG: u32 = 64u;

struct Params { n: u32, c: u32, ignore: i32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branch, so the barriers below stay legal.
  let valid = row < params.n;
  let c = params.c;
  let base = row * c;

  var m = -3.402823e38;
  if (valid) {
    for (var k = lid.x; k < c; k += WG) { m = max(m, x[base + k]); }
  }
  partial[lid.x] = m;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid.x < h) { partial[lid.x] = max(partial[lid.x], partial[lid.x + h]); }
    workgroupBarrier();
  }
  m = partial[0];
  workgroupBarrier();

  var acc = 0.0;
  if (valid) {
    for (var k = lid.x; k < c; k += WG) { acc += exp(x[base + k] - m); }
  }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid.x < h) { partial[lid.x] += partial[lid.x + h]; }
    workgroupBarrier();
  }
  if (!valid) { return; }
  let inv = 1.0 / partial[0];
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
