// Table lookup, torch.nn.functional.embedding: y[n, e] = w[idx[n], e]. An index outside [0, V) raises the
// device-side check (src/runtime/device_checks.ts, code 2: value, n, V) — indices the host holds were already
// checked by the op — and is clamped only so that no read goes out of bounds.
// Shapes: w (V, E) float32, idx (N) int32 (any shape, flattened), y (N, E).
// Dispatch: one thread per element of y, ceil(N·E / WG) workgroups, folded into y past the per-dimension limit.
// Backward: embedding_backward.wgsl.
override WG: u32 = 64u;

struct Params { count: u32, v: u32, e: u32 }

const CHECK_INDEX: u32 = 2u;

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>, 8>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let n = i / params.e;
  let index = idx[n];
  // One thread per index reports it (the one writing column 0), not E of them.
  if (i % params.e == 0u && (index < 0 || index >= i32(params.v)) && atomicOr(&err[0], 1u) == 0u) {
    atomicStore(&err[1], CHECK_INDEX);
    atomicStore(&err[2], bitcast<u32>(index));
    atomicStore(&err[3], n);
    atomicStore(&err[4], params.v);
  }
  let row = u32(clamp(index, 0, i32(params.v) - 1));
  y[i] = w[row * params.e + i % params.e];
}
