// What cross_entropy.wgsl and cross_entropy_backward.wgsl share: their Params, the logits x (N, C) and labels (N)
// int32 at bindings 0–1, and the softmax statistics of a row. A kernel declares its outputs from binding 2 on and
// `var<uniform> params: Params` last.
// #import workgroup_max, workgroup_sum from "lib/reduce.wgsl"

struct Params { n: u32, c: u32, ignore: i32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;

// (m, Σ_c exp(x[row, c] − m)) with m = max_c x[row, c]: the threads stride over C, then workgroup reductions. Every
// thread of the workgroup must call it (uniform control flow); rows past N (`inside` false) contribute nothing.
fn row_softmax_stats(lid: u32, row: u32, inside: bool) -> vec2f {
  let c = params.c;
  let base = row * c;
  var m = -3.402823e38;
  if (inside) {
    for (var k = lid; k < c; k += WG) { m = max(m, x[base + k]); }
  }
  m = workgroup_max(lid, m);
  var acc = 0.0;
  if (inside) {
    for (var k = lid; k < c; k += WG) { acc += exp(x[base + k] - m); }
  }
  return vec2f(m, workgroup_sum(lid, acc));
}
