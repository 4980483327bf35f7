// Workgroup tree reductions: every thread passes its value and gets the workgroup's total back, in log2(WG) steps
// (WG, the kernel's override, a power of two). Each call holds barriers, so every thread of the workgroup must
// reach it: kernels keep their out-of-range threads running up to the last call and return after it.

var<workgroup> wg_partial: array<f32, WG>;
var<workgroup> wg_partial2: array<vec2f, WG>;

// The sum, or the maximum when `take_max`, of every thread's `v`.
fn workgroup_reduce(lid: u32, v: f32, take_max: bool) -> f32 {
  wg_partial[lid] = v;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid < h) {
      let a = wg_partial[lid];
      let b = wg_partial[lid + h];
      wg_partial[lid] = select(a + b, max(a, b), take_max);
    }
    workgroupBarrier();
  }
  let total = wg_partial[0];
  // Nobody may overwrite wg_partial[0] for the next reduction before every thread has read it.
  workgroupBarrier();
  return total;
}

fn workgroup_sum(lid: u32, v: f32) -> f32 { return workgroup_reduce(lid, v, false); }

fn workgroup_max(lid: u32, v: f32) -> f32 { return workgroup_reduce(lid, v, true); }

// Two sums at once (the norms' backward reduces (Σ g, Σ g·x̂) together).
fn workgroup_sum2(lid: u32, v: vec2f) -> vec2f {
  wg_partial2[lid] = v;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid < h) { wg_partial2[lid] += wg_partial2[lid + h]; }
    workgroupBarrier();
  }
  let total = wg_partial2[0];
  workgroupBarrier();
  return total;
}
