// Gradient of the lookup (embedding.wgsl): dw[v, e] = Σ_n [idx[n] = v] · dy[n, e] (indices clamped as the forward
// reads them; an out-of-range one already raised the forward's device-side check), a scatter-add
// written as a gather so that no float atomics are needed (WGSL has none): each thread owns one (v, e) and scans
// all N indices, O(V·N·E) work in all — cheap for d2l's vocabularies (V ≈ 200, N = B·L ≈ 10³) and deterministic.
// Shapes: idx (N) int32, dy (N, E), dw (V, E). Dispatch: one thread per element of dw, ceil(V·E / WG)
// workgroups, folded into y past the per-dimension limit. Backward: none (second derivatives are not needed).
override WG: u32 = 64u;

struct Params { count: u32, n: u32, v: u32, e: u32 }

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let v = i32(i / params.e);
  let e = i % params.e;
  let last = i32(params.v) - 1;
  var acc = 0.0;
  for (var n = 0u; n < params.n; n++) {
    if (clamp(idx[n], 0, last) == v) { acc += dy[n * params.e + e]; }
  }
  dw[i] = acc;
}
