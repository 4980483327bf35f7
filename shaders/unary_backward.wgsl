// dx = dy · f'(x), with f' written from x or the saved output y (whichever is cheaper); OP codes as unary.wgsl.
// Shapes: x, y, dy, dx (n) flat. Dispatch: as unary.wgsl. Forward: unary.wgsl.
override OP: u32 = 0u;
override WG: u32 = 64u;

struct Params { n: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn df(v: f32, out: f32, a: f32) -> f32 {
  switch OP {
    case 0u: { return -1.0; }                          // neg
    case 1u: { return out; }                           // exp
    case 2u: { return 1.0 / v; }                       // log
    case 3u: { return 1.0 - out * out; }               // tanh
    case 4u: { return select(0.0, 1.0, v > 0.0); }     // relu (0 at 0, as PyTorch)
    case 5u: { return out * (1.0 - out); }             // sigmoid
    case 6u: { return 2.0 * v; }                       // square
    case 7u: { return 0.5 / out; }                     // sqrt
    case 8u: { return 1.0; }                           // add_scalar
    case 9u: { return a; }                             // mul_scalar
    case 10u: { return select(a * out / v, a * pow(abs(v), a - 1.0), v == 0.0); } // pow_scalar
    case 11u: { return cos(v); }                       // sin
    case 12u: { return -sin(v); }                      // cos
    default: { return 1.0; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  dx[i] = dy[i] * df(x[i], y[i], params.alpha);
}
