// y = x.permute(dims) (torch.permute, torch.transpose): y[i_0, …, i_{R−1}] = x[Σ_k i_k · xstride_k], where
// xstride_k is the stride in x of the axis that becomes y's axis k (x's stride of axis dims[k]). The host first
// drops size-1 axes and merges axes that stay adjacent and in order, so R ≤ 8 here and a copy is R = 1.
// Copies u32 bits, so float32 and int32 alike. Shapes: x (…) and y (…) of `count` elements, rank R; ystride and
// xstride hold R strides (y's own, row-major, then x's in y's axis order), 4 per vec4.
// Dispatch: one thread per element of y, ceil(count / WG) workgroups, folded into y past the per-dimension limit.
// Backward: this kernel with the inverse permutation.
override WG: u32 = 64u;

struct Params { count: u32, rank: u32, ystride: array<vec4u, 2>, xstride: array<vec4u, 2> }

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  var rest = i;
  var src = 0u;
  for (var k = 0u; k < params.rank; k++) {
    let ys = params.ystride[k / 4u][k % 4u];
    let c = rest / ys;
    rest -= c * ys;
    src += c * params.xstride[k / 4u][k % 4u];
  }
  y[i] = x[src];
}
