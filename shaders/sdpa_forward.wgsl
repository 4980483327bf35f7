// o[b, i] = Σ_j drop(P[b, i, j]) v[b, j], P = softmax_j(s̃[b, i, j]), s̃ = scale·q[b, i]·k[b, j] where key j is
// valid for row i (j < len_{b,i}, and j ≤ i when CAUSAL) and −1e6 otherwise (d2l §11.3: masked scores are
// replaced, so a row without any valid key is uniform over all S keys); lse[b, i] = log Σ_j exp(s̃[b, i, j]).
// drop(P) = P·keep/(1 − p), keep = uniform(pcg(idx + pcg(seed))) ≥ p with idx = (b·L + i)·S + j, the flat index
// shaders/dropout.wgsl hashes on the (B, L, S) weights, so the unfused path draws the same mask.
// Online softmax (FlashAttention-2): a running max m and sum l (of the un-dropped P) rescale the accumulator.
// Shapes: q (B, L, params.d), k (B, S, params.d), v (B, S, params.dv), lens (B) or (B, L) int32 (mode 1 / 2; mode 0: unread dummy),
// o (B, L, params.dv), lse (B, L). Dispatch: (ceil(L / WG), B folded into y·z); one thread per query row, holding its
// q, m, l and o in registers. Keys past the last valid one of every row of the workgroup contribute exactly 0
// (exp(−1e6 − m) underflows), so the key loop stops there, except for rows without any valid key.
// Backward: sdpa_backward_delta.wgsl, sdpa_backward_dq.wgsl, sdpa_backward_dkdv.wgsl.
override WG: u32 = 64u;
override CAUSAL: bool = false;
override DROPOUT: bool = false;
// Register arrays need creation-time sizes: head dims up to 4·MAXD4 = 128; KB keys are scored per step.
const MAXD4 = 32u;
const KB = 8u;
const RM = 8u;
const MASKED = -1e6;
const NEG = -3.402823e38;

struct Params { batch: u32, l: u32, s: u32, mode: u32, d: u32, dv: u32, scale: f32, p: f32, drop_scale: f32, seed: u32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> lens: array<i32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn k4(base: u32, e: u32) -> vec4f {
  return vec4f(k[base + e], select(0.0, k[base + e + 1u], e + 1u < params.d), select(0.0, k[base + e + 2u], e + 2u < params.d),
               select(0.0, k[base + e + 3u], e + 3u < params.d));
}

fn v4(base: u32, e: u32) -> vec4f {
  return vec4f(v[base + e], select(0.0, v[base + e + 1u], e + 1u < params.dv), select(0.0, v[base + e + 2u], e + 2u < params.dv),
               select(0.0, v[base + e + 3u], e + 3u < params.dv));
}

fn rowLen(b: u32, i: u32) -> i32 {
  if (params.mode == 1u) { return lens[b]; }
  if (params.mode == 2u) { return lens[b * params.l + i]; }
  return i32(params.s);
}

// Keys row i must visit: up to its last valid one, or all S when it has none (uniform row).
fn keysNeeded(b: u32, i: u32) -> u32 {
  let len = rowLen(b, i);
  if (len <= 0) { return params.s; }
  var n = min(u32(len), params.s);
  if (CAUSAL) { n = min(n, i + 1u); }
  return n;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let L = params.l;
  let S = params.s;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let i0 = wid.x * WG * RM;
  // Same bound for every thread of the workgroup, so the k and v loads below are uniform (broadcast).
  var n = 0u;
  for (var r = i0; r < min(i0 + WG * RM, L); r++) { n = max(n, keysNeeded(b, r)); }
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
    let base = (b * L + ir[r]) * params.d;
    for (var c = 0u; c < (params.d + 3u) / 4u; c++) {
      let e = 4u * c;
      qr[r][c] = vec4f(q[base + e], select(0.0, q[base + e + 1u], e + 1u < params.d),
                       select(0.0, q[base + e + 2u], e + 2u < params.d), select(0.0, q[base + e + 3u], e + 3u < params.d));
      acc[r][c] = vec4f(0.0);
    }
  }
  let hseed = pcg(params.seed);
  for (var j0 = 0u; j0 < n; j0 += KB) {
    var kb: array<u32, KB>;
    for (var t = 0u; t < KB; t++) { kb[t] = b * S + min(j0 + t, n - 1u); }
    // Explicitly zeroed: lavapipe miscompiles the implicit zero-init of an array declared in a loop.
    var s4: array<array<vec4f, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) { s4[r][t] = vec4f(0.0); }
    }
    for (var c = 0u; c < (params.d + 3u) / 4u; c++) {
      var kv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { kv[t] = k4(kb[t] * params.d, 4u * c); }
      for (var r = 0u; r < RM; r++) {
        let qv = qr[r][c];
        for (var t = 0u; t < KB; t++) { s4[r][t] += qv * kv[t]; }
      }
    }
    var p: array<array<f32, KB>, RM>;
    var alpha: array<f32, RM>;
    for (var r = 0u; r < RM; r++) {
      var mt = m[r];
      var s: array<f32, KB>;
      for (var t = 0u; t < KB; t++) {
        let j = j0 + t;
        let valid = i32(j) < len[r] && (!CAUSAL || j <= ir[r]);
        s[t] = select(MASKED, (s4[r][t].x + s4[r][t].y + s4[r][t].z + s4[r][t].w) * params.scale, valid);
        if (j < n) { mt = max(mt, s[t]); }
      }
      alpha[r] = exp(m[r] - mt);
      var sum = l[r] * alpha[r];
      for (var t = 0u; t < KB; t++) {
        let j = j0 + t;
        var pt = select(0.0, exp(s[t] - mt), j < n);
        sum += pt;
        if (DROPOUT) {
          let u = f32(pcg(((b * L + ir[r]) * S + j) + hseed) >> 8u) / 16777216.0;
          pt = select(0.0, pt * params.drop_scale, u >= params.p);
        }
        p[r][t] = pt;
      }
      l[r] = sum;
      m[r] = mt;
    }
    for (var c = 0u; c < (params.dv + 3u) / 4u; c++) {
      var vv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { vv[t] = v4(kb[t] * params.dv, 4u * c); }
      for (var r = 0u; r < RM; r++) {
        var a = acc[r][c] * alpha[r];
        for (var t = 0u; t < KB; t++) { a += p[r][t] * vv[t]; }
        acc[r][c] = a;
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let i = i0 + lid.x + r * WG;
    if (i >= L) { break; }
    let row = b * L + i;
    let il = 1.0 / l[r];
    for (var e = 0u; e < params.dv; e++) { o[row * params.dv + e] = acc[r][e / 4u][e % 4u] * il; }
    lse[row] = m[r] + log(l[r]);
  }
}
