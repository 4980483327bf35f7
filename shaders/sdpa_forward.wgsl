// o[b, i] = Σ_j drop(P[b, i, j]) v[b, j] with P = softmax_j(s̃[b, i, ·]), s̃[b, i, j] = scale·q[b, i]·k[b, j] where key
// j is valid for row i (j < len_{b,i}, and j ≤ i when CAUSAL) and −1e6 otherwise (d2l §11.3: masked scores are
// replaced, so a row without any valid key is uniform over all S keys); lse[b, i] = log Σ_j exp(s̃[b, i, j]).
// drop(P) = P·keep·drop_scale, keep = uniform(pcg(idx + pcg(seed))) ≥ p on idx = (b·L + i)·S + j, the flat index
// shaders/dropout.wgsl hashes on the (B, L, S) weights, so the unfused path draws the same mask.
// Online softmax (FlashAttention-2): a running max m and sum l of the un-dropped P rescale the accumulator.
// Shapes: q (B, L, D), k (B, S, D), v (B, S, DV) and o (B, L, DV) as rows of D4 = D/4 or DV4 = DV/4 vec4 (the op pads
// other head dims), lens (B) or (B, L) int32 (lens_rows = L / 1; 0: an unread stand-in), lse (B, L).
// Dispatch: (ceil(L / (WG·RM)), B folded into y·z): each thread owns RM query rows i0 + lid + r·WG of one batch item and
// keeps their q, o, m and l in private arrays, so each k or v element it loads feeds RM rows, and KB keys are scored
// per step. On lavapipe every storage load costs a bounds-checked per-lane access, so the kernel is built around few
// loads (vec4, each feeding RM·KB multiply-adds) and scalar score accumulators; no workgroup memory, no barriers.
// Keys past the last valid one of every row of the workgroup only add exp(−1e6 − m) = 0, so the key loop stops
// there, except when a row has no valid key at all. Backward: sdpa_backward_delta, _dq, _dkdv.wgsl.
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, rowLen, keysNeededMax from "lib/sdpa.wgsl"
override WG: u32 = 64u;
// Private arrays need creation-time sizes, so these are consts (MAXD4 in lib/sdpa.wgsl): RM rows, KB keys.
const RM = 8u;
const KB = 8u;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read_write> o: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let L = params.l;
  let S = params.s;
  let D4 = params.d4;
  let DV4 = params.dv4;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let i0 = wid.x * WG * RM;
  // One key bound for the whole workgroup keeps every thread's loop the same length.
  let n = keysNeededMax(b, i0, min(i0 + WG * RM, L), S);
  var ir: array<u32, RM>;
  var len: array<i32, RM>;
  var qr: array<array<vec4f, MAXD4>, RM>;
  var acc: array<array<vec4f, MAXD4>, RM>;
  var m: array<f32, RM>;
  var l: array<f32, RM>;
  for (var r = 0u; r < RM; r++) {
    ir[r] = min(i0 + lid.x + r * WG, L - 1u);
    len[r] = rowLen(b, ir[r]);
    m[r] = NEG;
    l[r] = 0.0;
    for (var c = 0u; c < D4; c++) { qr[r][c] = q[(b * L + ir[r]) * D4 + c]; }
    for (var c = 0u; c < DV4; c++) { acc[r][c] = vec4f(0.0); }
  }
  let hseed = pcg(params.seed);
  for (var j0 = 0u; j0 < n; j0 += KB) {
    var kb: array<u32, KB>;
    for (var t = 0u; t < KB; t++) { kb[t] = b * S + min(j0 + t, n - 1u); }
    // Zeroed explicitly: lavapipe miscompiles the implicit zero-init of an array declared inside a loop.
    var s: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) { s[r][t] = 0.0; }
    }
    for (var c = 0u; c < D4; c++) {
      var kv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { kv[t] = k[kb[t] * D4 + c]; }
      for (var r = 0u; r < RM; r++) {
        let qv = qr[r][c];
        for (var t = 0u; t < KB; t++) { s[r][t] += dot(qv, kv[t]); }
      }
    }
    var p: array<array<f32, KB>, RM>;
    var alpha: array<f32, RM>;
    for (var r = 0u; r < RM; r++) {
      var mt = m[r];
      for (var t = 0u; t < KB; t++) {
        let j = j0 + t;
        let valid = i32(j) < len[r] && (!CAUSAL || j <= ir[r]);
        s[r][t] = select(MASKED, s[r][t] * params.scale, valid);
        if (j < n) { mt = max(mt, s[r][t]); }
      }
      alpha[r] = exp(m[r] - mt);
      var sum = l[r] * alpha[r];
      for (var t = 0u; t < KB; t++) {
        let j = j0 + t;
        var pt = select(0.0, exp(s[r][t] - mt), j < n);
        sum += pt;
        if (DROPOUT) {
          let u = hash_uniform(((b * L + ir[r]) * S + j), hseed);
          pt = select(0.0, pt * params.drop_scale, u >= params.p);
        }
        p[r][t] = pt;
      }
      l[r] = sum;
      m[r] = mt;
    }
    for (var c = 0u; c < DV4; c++) {
      var vv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { vv[t] = v[kb[t] * DV4 + c]; }
      for (var r = 0u; r < RM; r++) {
        var a = acc[r][c] * alpha[r];
        for (var t = 0u; t < KB; t++) { a += p[r][t] * vv[t]; }
        acc[r][c] = a;
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let i = i0 + lid.x + r * WG;
    if (i < L) {
      let row = b * L + i;
      let il = 1.0 / l[r];
      for (var c = 0u; c < DV4; c++) { o[row * DV4 + c] = acc[r][c] * il; }
      lse[row] = m[r] + log(l[r]);
    }
  }
}
