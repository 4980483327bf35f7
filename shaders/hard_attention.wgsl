// Hard attention, one value row per query (Xu et al. 2015 "Show, Attend and Tell"; d2l §11.3 has the soft kind).
// MODE 0 (argmax): idx[b, i] = argmax_{j < n} x[b, i, j], the first on ties. MODE 1 (sample): idx[b, i] = the first
// j < n with Σ_{j' ≤ j} x[b, i, j'] > u · Σ_{j' < n} x[b, i, j'], u = uniform(pcg(b·L + i + pcg(seed))) (the hash and
// 24-bit uniform of dropout.wgsl), so j is drawn with probability ∝ x[b, i, j]. n = min(len, S),
// len = valid_len(b·L + i) (lib/valid_lens.wgsl: S without lengths, lens unread); a row with n = 0, whose d2l masked
// softmax is uniform over all S, takes j = 0 (MODE 0) or a uniform j < S (MODE 1). Then y[b, i, :] = v[b, j, :].
// Shapes: x (B, L, S) scores or weights, v (B, S, D), lens (B) or (B, L) int32, y (B, L, D), idx (B, L) int32.
// Dispatch: one workgroup of WG threads per query row (B·L workgroups, folded into y past 65535). Thread t owns the
// chunk [t·C, (t + 1)·C) of the n valid keys; a tree reduction combines the chunks' (max, index), or for sampling
// a scan of the chunk sums lets each thread search its own chunk and the smallest hit wins; then the threads
// stride over D to copy the row. Backward: none (the index is a step function of x).
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import valid_len from "lib/valid_lens.wgsl"
override MODE: u32 = 0u;
override WG: u32 = 64u;

struct Params { rows: u32, l: u32, s: u32, d: u32, lens_rows: u32, seed: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> lens: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> idx: array<i32>;
@group(0) @binding(5) var<uniform> params: Params;

const NONE: u32 = 0xffffffffu;

var<workgroup> val: array<f32, WG>;
var<workgroup> pos: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  // Every thread of a workgroup takes the same branches, so the barriers below stay legal.
  let valid = row < params.rows;
  let s = params.s;
  let b = row / max(params.l, 1u);
  var len = 0;
  if (valid) {
    len = valid_len(row, params.lens_rows, s);
  }
  let n = u32(clamp(len, 0, i32(s)));
  let chunk = (n + WG - 1u) / WG;
  let c0 = min(lid.x * chunk, n);
  let c1 = min(c0 + chunk, n);
  let base = row * s;
  let u = hash_uniform(row, pcg(params.seed));

  var at = NONE;
  var best = 0.0;
  if (MODE == 0u) {
    for (var c = c0; c < c1; c++) {
      let xv = x[base + c];
      if (at == NONE || xv > best) { best = xv; at = c; }
    }
  } else {
    var part = 0.0;
    for (var c = c0; c < c1; c++) { part += x[base + c]; }
    val[lid.x] = part;
    workgroupBarrier();
    // Hillis–Steele inclusive scan of the chunk sums.
    for (var off = 1u; off < WG; off *= 2u) {
      var prev = 0.0;
      if (lid.x >= off) { prev = val[lid.x - off]; }
      workgroupBarrier();
      val[lid.x] += prev;
      workgroupBarrier();
    }
    var cum = 0.0;
    if (lid.x > 0u) { cum = val[lid.x - 1u]; }
    let tau = u * val[WG - 1u];
    for (var c = c0; c < c1; c++) {
      cum += x[base + c];
      if (cum > tau) { at = c; break; }
    }
    if (n == 0u && lid.x == 0u) { at = min(u32(u * f32(s)), s - 1u); }
    workgroupBarrier();
  }
  val[lid.x] = best;
  pos[lid.x] = at;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid.x < h) {
      let o = pos[lid.x + h];
      let ov = val[lid.x + h];
      let mine = pos[lid.x];
      // Ties go to the smaller index (the tree pairs threads h apart, so either side may hold the earlier key).
      if (MODE == 0u && o != NONE && (mine == NONE || ov > val[lid.x] || (ov == val[lid.x] && o < mine))) {
        val[lid.x] = ov;
        pos[lid.x] = o;
      }
      if (MODE == 1u) { pos[lid.x] = min(pos[lid.x], o); }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  var j = pos[0];
  // No hit: an empty row in MODE 0, or rounding left the threshold at the very top of the cumulative sum.
  if (j == NONE) { j = select(0u, n - 1u, MODE == 1u && n > 0u); }
  if (lid.x == 0u) { idx[row] = i32(j); }
  for (var e = lid.x; e < params.d; e += WG) { y[row * params.d + e] = v[(b * s + j) * params.d + e]; }
}
