// y[o, j] = the first k maximising x[o, k, j] along the middle axis of x viewed as (outer, n, inner)
// (torch.argmax): ties go to the smallest k, and NaN counts as larger than any number (its first k wins), as in
// PyTorch. Shapes: x (outer, n, inner) float32, y (outer, inner) int32. Dispatch: one workgroup of WG threads per
// output element (outer·inner workgroups, folded into y past 65535), as reduce.wgsl; each thread scans k = lid,
// lid + WG, … in order, then a tree reduction of (value, index) pairs. Backward: none (integer output).
override WG: u32 = 64u;

struct Params { outer: u32, n: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<i32>;
@group(0) @binding(2) var<uniform> params: Params;

// No candidate yet: loses to any element.
const NONE: u32 = 0xffffffffu;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_k: array<u32, WG>;

// By its bits, so that no fast-math assumption removes the test.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Whether candidate (v, k) beats (w, l): NaN first, then the larger value, then the smaller index.
fn beats(v: f32, k: u32, w: f32, l: u32) -> bool {
  if (k == NONE) { return false; }
  if (l == NONE) { return true; }
  let vn = is_nan(v);
  let wn = is_nan(w);
  if (vn != wn) { return vn; }
  if (vn || v == w) { return k < l; }
  return v > w;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let out = wid.x + wid.y * nwg.x;
  // Uniform control flow: every thread of a workgroup takes the same branch, so the barriers below are legal.
  let valid = out < params.outer * params.inner;
  let o = out / max(params.inner, 1u);
  let j = out % max(params.inner, 1u);
  var v = 0.0;
  var k = NONE;
  if (valid) {
    for (var c = lid.x; c < params.n; c += WG) {
      let u = x[(o * params.n + c) * params.inner + j];
      if (beats(u, c, v, k)) { v = u; k = c; }
    }
  }
  best_v[lid.x] = v;
  best_k[lid.x] = k;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid.x < s && beats(best_v[lid.x + s], best_k[lid.x + s], best_v[lid.x], best_k[lid.x])) {
      best_v[lid.x] = best_v[lid.x + s];
      best_k[lid.x] = best_k[lid.x + s];
    }
    workgroupBarrier();
  }
  if (valid && lid.x == 0u) { y[out] = i32(best_k[0]); }
}
