// y = f(x) elementwise, f chosen by the override OP (codes: the `unary` table in src/ops/elementwise.ts).
// Shapes: x, y (n) flat. Dispatch: ceil(n / WG) workgroups, folded into y when over the per-dimension limit.
// Backward: unary_backward.wgsl.
override OP: u32 = 0u;
override WG: u32 = 64u;

struct Params { n: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn pow_scalar(v: f32, a: f32) -> f32 {
  // pow() is undefined for v < 0 in WGSL; PyTorch gives the signed result for integer exponents.
  let r = pow(abs(v), a);
  if (v >= 0.0) { return r; }
  // NaN built at run time: a constant NaN is a WGSL compile error.
  if (fract(a) != 0.0) { return bitcast<f32>(0x7fc00000u | (bitcast<u32>(a) & 0u)); }
  return select(r, -r, fract(a * 0.5) != 0.0);
}

fn f(v: f32, a: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }                           // neg
    case 1u: { return exp(v); }                       // exp
    case 2u: { return log(v); }                       // log
    case 3u: { return tanh(v); }                      // tanh
    case 4u: { return max(v, 0.0); }                  // relu
    case 5u: { return 1.0 / (1.0 + exp(-v)); }        // sigmoid
    case 6u: { return v * v; }                        // square
    case 7u: { return sqrt(v); }                      // sqrt
    case 8u: { return v + a; }                        // add_scalar
    case 9u: { return v * a; }                        // mul_scalar
    case 10u: { return pow_scalar(v, a); }            // pow_scalar
    case 11u: { return sin(v); }                      // sin
    case 12u: { return cos(v); }                      // cos
    default: { return v; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  y[i] = f(x[i], params.alpha);
}
