// y[o, j] = reduce_k x[o, k, j] over the middle axis of x viewed as (outer, n, inner); OP 0 sum, 1 mean, 2 max.
// Shapes: x (outer, n, inner), y (outer, inner). Dispatch: one workgroup of WG threads per output element
// (outer·inner workgroups, folded into y when over the limit); threads stride over k, then a tree reduction.
// Backward: composed in src/ops/reduce.ts (expand for sum/mean, an equality mask for max).
override OP: u32 = 0u;
override WG: u32 = 64u;

struct Params { outer: u32, n: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG>;

fn combine(u: f32, v: f32) -> f32 {
  if (OP == 2u) { return max(u, v); }
  return u + v;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let out = wid.x + wid.y * nwg.x;
  let total = params.outer * params.inner;
  // Uniform control flow: every thread of a workgroup takes the same branch, so the barriers below are legal.
  let valid = out < total;
  let o = out / max(params.inner, 1u);
  let j = out % max(params.inner, 1u);
  var acc = select(0.0, -3.402823e38, OP == 2u);
  if (valid) {
    for (var k = lid.x; k < params.n; k += WG) {
      acc = combine(acc, x[(o * params.n + k) * params.inner + j]);
    }
  }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid.x < s) { partial[lid.x] = combine(partial[lid.x], partial[lid.x + s]); }
    workgroupBarrier();
  }
  if (valid && lid.x == 0u) {
    y[out] = select(partial[0], partial[0] / f32(params.n), OP == 1u);
  }
}
