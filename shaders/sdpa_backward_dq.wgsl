// dq[b, i] = scale·Σ_j dS[b, i, j] k[b, j] with dS = P ⊙ (dP − delta_i), recomputing P = exp(s̃ − lse) from q, k and
// the forward's lse instead of storing it (FlashAttention-2 backward): s̃ = scale·q[b, i]·k[b, j] at valid keys
// (j < len_{b,i}, and j ≤ i when CAUSAL); masked keys were replaced by a constant, so their dS is exactly 0, and a
// row without any valid key gets dq = 0. dP = keep·drop_scale·(dy[b, i]·v[b, j]), keep hashed as in
// sdpa_forward.wgsl on (b·L + i)·S + j; delta from sdpa_backward_delta.wgsl.
// Shapes: q (B, L, params.d), k (B, S, params.d), v (B, S, params.dv), lens (B) or (B, L) int32 (mode 1 / 2; mode 0: unread dummy),
// dy (B, L, params.dv), lse, delta (B, L), dq (B, L, params.d). Dispatch: (ceil(L / (WG·RM)), B folded into y·z); each thread
// owns RM query rows (strided by WG) and keeps their q, dy and dq in registers, so every k or v element it loads
// feeds RM rows. Keys past the last valid one of every row of the workgroup are skipped. Forward: sdpa_forward.wgsl.
override WG: u32 = 64u;
override CAUSAL: bool = false;
override DROPOUT: bool = false;
// Register arrays need creation-time sizes: head dims up to 4·MAXD4 = 128, RM rows × KB keys per step.
const MAXD4 = 32u;
const KB = 8u;
const RM = 8u;

struct Params { batch: u32, l: u32, s: u32, mode: u32, d: u32, dv: u32, scale: f32, p: f32, drop_scale: f32, seed: u32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> lens: array<i32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn q4(base: u32, e: u32) -> vec4f {
  return vec4f(q[base + e], select(0.0, q[base + e + 1u], e + 1u < params.d), select(0.0, q[base + e + 2u], e + 2u < params.d),
               select(0.0, q[base + e + 3u], e + 3u < params.d));
}

fn k4(base: u32, e: u32) -> vec4f {
  return vec4f(k[base + e], select(0.0, k[base + e + 1u], e + 1u < params.d), select(0.0, k[base + e + 2u], e + 2u < params.d),
               select(0.0, k[base + e + 3u], e + 3u < params.d));
}

fn v4(base: u32, e: u32) -> vec4f {
  return vec4f(v[base + e], select(0.0, v[base + e + 1u], e + 1u < params.dv), select(0.0, v[base + e + 2u], e + 2u < params.dv),
               select(0.0, v[base + e + 3u], e + 3u < params.dv));
}

fn dy4(base: u32, e: u32) -> vec4f {
  return vec4f(dy[base + e], select(0.0, dy[base + e + 1u], e + 1u < params.dv),
               select(0.0, dy[base + e + 2u], e + 2u < params.dv), select(0.0, dy[base + e + 3u], e + 3u < params.dv));
}

fn rowLen(b: u32, i: u32) -> i32 {
  if (params.mode == 1u) { return lens[b]; }
  if (params.mode == 2u) { return lens[b * params.l + i]; }
  return i32(params.s);
}

// Keys with a nonzero dS for row i: up to its last valid one; none when it has no valid key (uniform row).
fn keysNeeded(b: u32, i: u32) -> u32 {
  let len = rowLen(b, i);
  if (len <= 0) { return 0u; }
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
  // One bound for the whole workgroup keeps the k and v loads uniform.
  var n = 0u;
  for (var r = i0; r < min(i0 + WG * RM, L); r++) { n = max(n, keysNeeded(b, r)); }
  var ir: array<u32, RM>;
  var len: array<i32, RM>;
  var rlse: array<f32, RM>;
  var rdelta: array<f32, RM>;
  var qr: array<array<vec4f, MAXD4>, RM>;
  var dyr: array<array<vec4f, MAXD4>, RM>;
  var acc: array<array<vec4f, MAXD4>, RM>;
  for (var r = 0u; r < RM; r++) {
    ir[r] = min(i0 + lid.x + r * WG, L - 1u);
    let row = b * L + ir[r];
    len[r] = rowLen(b, ir[r]);
    rlse[r] = lse[row];
    rdelta[r] = delta[row];
    for (var c = 0u; c < (params.d + 3u) / 4u; c++) {
      qr[r][c] = q4(row * params.d, 4u * c);
      acc[r][c] = vec4f(0.0);
    }
    for (var c = 0u; c < (params.dv + 3u) / 4u; c++) { dyr[r][c] = dy4(row * params.dv, 4u * c); }
  }
  let hseed = pcg(params.seed);
  for (var j0 = 0u; j0 < n; j0 += KB) {
    var kb: array<u32, KB>;
    for (var t = 0u; t < KB; t++) { kb[t] = b * S + min(j0 + t, n - 1u); }
    // Explicitly zeroed: lavapipe miscompiles the implicit zero-init of an array declared in a loop.
    var s4: array<array<vec4f, KB>, RM>;
    var dp4: array<array<vec4f, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) {
        s4[r][t] = vec4f(0.0);
        dp4[r][t] = vec4f(0.0);
      }
    }
    for (var c = 0u; c < (params.d + 3u) / 4u; c++) {
      var kv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { kv[t] = k4(kb[t] * params.d, 4u * c); }
      for (var r = 0u; r < RM; r++) {
        let qv = qr[r][c];
        for (var t = 0u; t < KB; t++) { s4[r][t] += qv * kv[t]; }
      }
    }
    for (var c = 0u; c < (params.dv + 3u) / 4u; c++) {
      var vv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { vv[t] = v4(kb[t] * params.dv, 4u * c); }
      for (var r = 0u; r < RM; r++) {
        let dv = dyr[r][c];
        for (var t = 0u; t < KB; t++) { dp4[r][t] += dv * vv[t]; }
      }
    }
    var ds: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) {
        let j = j0 + t;
        let valid = j < n && i32(j) < len[r] && (!CAUSAL || j <= ir[r]);
        let s = (s4[r][t].x + s4[r][t].y + s4[r][t].z + s4[r][t].w) * params.scale;
        var dp = dp4[r][t].x + dp4[r][t].y + dp4[r][t].z + dp4[r][t].w;
        if (DROPOUT) {
          let u = f32(pcg(((b * L + ir[r]) * S + j) + hseed) >> 8u) / 16777216.0;
          dp = select(0.0, dp * params.drop_scale, u >= params.p);
        }
        ds[r][t] = select(0.0, exp(s - rlse[r]) * (dp - rdelta[r]), valid);
      }
    }
    for (var c = 0u; c < (params.d + 3u) / 4u; c++) {
      var kv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { kv[t] = k4(kb[t] * params.d, 4u * c); }
      for (var r = 0u; r < RM; r++) {
        var a = acc[r][c];
        for (var t = 0u; t < KB; t++) { a += ds[r][t] * kv[t]; }
        acc[r][c] = a;
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let i = i0 + lid.x + r * WG;
    if (i >= L) { break; }
    let base = (b * L + i) * params.d;
    for (var e = 0u; e < params.d; e++) { dq[base + e] = acc[r][e / 4u][e % 4u] * params.scale; }
  }
}
