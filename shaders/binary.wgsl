// y = a ∘ b with NumPy broadcasting, ∘ chosen by the override OP (codes: the `binary` table in
// src/ops/elementwise.ts). Shapes: y (n) with `rank` <= 8 dims `shape`; a and b are read through element
// strides (0 on broadcast dims). BROADCAST = false skips the index math when a, b, y have one shape.
// Dispatch: ceil(n / WG) workgroups, folded into y when over the limit. Backward: composed in elementwise.ts.
override OP: u32 = 0u;
override WG: u32 = 64u;
override BROADCAST: bool = true;

struct Params { n: u32, rank: u32, shape: array<vec4u, 2>, astride: array<vec4u, 2>, bstride: array<vec4u, 2> }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn f(u: f32, v: f32) -> f32 {
  switch OP {
    case 0u: { return u + v; }                        // add
    case 1u: { return u - v; }                        // sub
    case 2u: { return u * v; }                        // mul
    case 3u: { return u / v; }                        // div
    case 4u: { return max(u, v); }                    // maximum
    case 5u: { return min(u, v); }                    // minimum
    case 6u: { return select(0.0, 1.0, u == v); }     // eq
    case 7u: { return select(0.0, 1.0, u > v); }      // gt
    case 8u: { return select(0.0, 1.0, u >= v); }     // ge
    default: { return u; }                            // copy_a (expand)
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  if (!BROADCAST) {
    y[i] = f(a[i], b[i]);
    return;
  }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let dim = params.shape[k / 4u][k % 4u];
    let c = rest % dim;
    rest = rest / dim;
    ia += c * params.astride[k / 4u][k % 4u];
    ib += c * params.bstride[k / 4u][k % 4u];
  }
  y[i] = f(a[ia], b[ib]);
}
