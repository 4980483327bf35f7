// Gradients of y[b, i, j] = Σ_h w[h] · tanh(q[b, i, h] + k[b, j, h]) (additive_score.wgsl), recomputing tanh
// instead of storing the (B, L, S, H) features. With t = tanh(x[b, r, h] + z[b, c, h]) and g = dy at (b, r, c):
//   dx[b, r, h] = w[h] · Σ_c g · (1 − t²),   dwr[b, r, h] = Σ_c g · t   (per-row partials: dw = Σ_{b, r} dwr).
// One pass per operand: x = q, z = k, (N, M) = (L, S), dy strides (sr, sc) = (S, 1) gives dq and, with DW, the dw
// partials; x = k, z = q, (N, M) = (S, L), (sr, sc) = (1, S) gives dk (DW false: dwr is an unread dummy). Each sum
// runs in one thread's loop, so there are no float atomics and no scratch beyond the (B, L, H) partials.
// Shapes: x (B, N, H), z (B, M, H), w (H), dy (B, L, S) = B·N·M values, dx (B, N, H), dwr (B, N, H).
// Dispatch: (ceil(H / T), ceil(N / T), min(B − z0, 65535)) workgroups of T×T threads; thread (x, y) of workgroup
// (X, Y, Z) owns dx[z0 + Z, Y·T + y, X·T + x]; c advances in chunks of T with z and dy tiles in workgroup memory.
// Backward: none (second derivatives are not needed).
override T: u32 = 16u;
override DW: bool = true;

struct Params { n: u32, m: u32, h: u32, sr: u32, sc: u32, z0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dwr: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// zs[c·T + h'] = z[b, c0 + c, h0 + h'], gs[r·T + c] = dy at (b, r0 + r, c0 + c).
var<workgroup> zs: array<f32, T * T>;
var<workgroup> gs: array<f32, T * T>;

@compute @workgroup_size(T, T)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let b = wid.z + params.z0;
  let n = params.n;
  let m = params.m;
  let hn = params.h;
  let h = wid.x * T + lid.x;
  let r0 = wid.y * T;
  let r = r0 + lid.y;
  let inside = r < n && h < hn;
  var xv = 0.0;
  if (inside) { xv = x[(b * n + r) * hn + h]; }
  // Stage dy so that consecutive threads read consecutive addresses for either stride order.
  let rowMajor = params.sc == 1u;
  let tr = select(lid.x, lid.y, rowMajor);
  let tc = select(lid.y, lid.x, rowMajor);
  let base = b * n * m;
  var accx = 0.0;
  var accw = 0.0;
  // Uniform loop bound: every thread reaches the barriers; out-of-range threads still help stage tiles.
  for (var c0 = 0u; c0 < m; c0 += T) {
    var zv = 0.0;
    var gv = 0.0;
    if (c0 + lid.y < m && h < hn) { zv = z[(b * m + c0 + lid.y) * hn + h]; }
    if (r0 + tr < n && c0 + tc < m) { gv = dy[base + (r0 + tr) * params.sr + (c0 + tc) * params.sc]; }
    zs[lid.y * T + lid.x] = zv;
    gs[tr * T + tc] = gv;
    workgroupBarrier();
    let cn = min(T, m - c0);
    for (var c = 0u; c < cn; c++) {
      let t = tanh(xv + zs[c * T + lid.x]);
      let g = gs[lid.y * T + c];
      accx += g * (1.0 - t * t);
      if (DW) { accw += g * t; }
    }
    workgroupBarrier();
  }
  if (inside) {
    let o = (b * n + r) * hn + h;
    dx[o] = w[h] * accx;
    if (DW) { dwr[o] = accw; }
  }
}
