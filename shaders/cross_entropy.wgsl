// loss[n] = logsumexp_c x[n, c] − x[n, t_n] with t_n = clamp(labels[n], 0, C − 1), as
// `F.cross_entropy(x, labels, reduction='none')`; logsumexp = m + log Σ_c exp(x[n, c] − m) with
// m = max_c x[n, c], so it never overflows. Out-of-range labels are clamped only so that no read goes out
// of bounds: their loss is meaningless. Shapes: x (N, C) float32 logits, labels (N) int32, loss (N).
// Dispatch: one workgroup of WG threads per sample (N workgroups, folded into a 2-D grid past 65535);
// threads stride over C, max and sum are workgroup tree reductions. Backward: cross_entropy_backward.wgsl.
override WG: u32 = 64u;

struct Params { n: u32, c: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

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
  if (!valid || lid.x != 0u) { return; }
  let t = u32(clamp(labels[row], 0, i32(c) - 1));
  loss[row] = m + log(partial[0]) - x[base + t];
}
