// dk[b, j] = scale·Σ_i dS[b, i, j] q[b, i] and dv[b, j] = Σ_i P̃[b, i, j] dy[b, i], recomputing P = exp(s̃ − lse) from
// q, k and the forward's lse (FlashAttention-2 backward): s̃ = scale·q[b, i]·k[b, j] where key j is valid for row i
// (j < len_{b,i}, and j ≤ i when CAUSAL). P = 0 at masked keys, except in a row without any valid key, which d2l makes
// uniform: P = 1/S there, set directly (exp(s̃ − lse) would lose it to the float32 rounding of lse ≈ −1e6 + log S).
// P̃ = keep·drop_scale·P; dS = P ⊙ (keep·drop_scale·(dy[b, i]·v[b, j]) − delta_i) at valid keys and exactly 0 at masked
// ones (their score was a constant); keep hashed as in sdpa_forward.wgsl on (b·L + i)·S + j; lse and delta packed by
// sdpa_backward_delta.wgsl.
// Shapes: q (B, L, D), k, dk (B, S, D), v, dv (B, S, DV), dy (B, L, DV) as rows of D4 = D/4 or DV4 = DV/4 vec4, lens (B)
// or (B, L) int32 (lens_rows = L / 1; 0: an unread stand-in), stats (B, L, 2) = (lse, delta).
// Dispatch: (ceil(S / (WG·RM)), B folded into y·z): each thread owns RM key rows j0 + lid + r·WG and keeps their k, v,
// dk and dv in private arrays, so every q or dy element it loads feeds RM keys (and each dy element both dv and dP);
// KB query rows per step. Query rows that give no key of the workgroup a weight are skipped. Forward:
// sdpa_forward.wgsl.
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, rowLen, rowsNeeded from "lib/sdpa.wgsl"
override WG: u32 = 64u;
// Private arrays need creation-time sizes: head dims up to 4·MAXD4 = 128 (lib/sdpa.wgsl), RM keys × KB query rows per step.
const RM = 8u;
const KB = 8u;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read> dy: array<vec4f>;
@group(0) @binding(5) var<storage, read> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4f>;
@group(0) @binding(8) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let L = params.l;
  let S = params.s;
  let D4 = params.d4;
  let DV4 = params.dv4;
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let j0 = wid.x * WG * RM;
  let range = rowsNeeded(b, j0);
  let lo = range.x;
  let hi = range.y;
  var jr: array<u32, RM>;
  var kr: array<array<vec4f, MAXD4>, RM>;
  var vr: array<array<vec4f, MAXD4>, RM>;
  var dka: array<array<vec4f, MAXD4>, RM>;
  var dva: array<array<vec4f, MAXD4>, RM>;
  for (var r = 0u; r < RM; r++) {
    jr[r] = min(j0 + lid.x + r * WG, S - 1u);
    let key = b * S + jr[r];
    for (var c = 0u; c < D4; c++) {
      kr[r][c] = k[key * D4 + c];
      dka[r][c] = vec4f(0.0);
    }
    for (var c = 0u; c < DV4; c++) {
      vr[r][c] = v[key * DV4 + c];
      dva[r][c] = vec4f(0.0);
    }
  }
  let hseed = pcg(params.seed);
  let even = 1.0 / f32(S);
  for (var i0 = lo; i0 < hi; i0 += KB) {
    var ib: array<u32, KB>;
    var tlen: array<i32, KB>;
    var tlse: array<f32, KB>;
    var tdelta: array<f32, KB>;
    for (var t = 0u; t < KB; t++) {
      ib[t] = b * L + min(i0 + t, hi - 1u);
      tlen[t] = rowLen(b, ib[t] - b * L);
      let st = stats[ib[t]];
      tlse[t] = st.x;
      tdelta[t] = st.y;
    }
    // Zeroed explicitly: lavapipe miscompiles the implicit zero-init of an array declared inside a loop.
    var s: array<array<f32, KB>, RM>;
    var dp: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) {
        s[r][t] = 0.0;
        dp[r][t] = 0.0;
      }
    }
    for (var c = 0u; c < D4; c++) {
      var qv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { qv[t] = q[ib[t] * D4 + c]; }
      for (var r = 0u; r < RM; r++) {
        let kv = kr[r][c];
        for (var t = 0u; t < KB; t++) { s[r][t] += dot(kv, qv[t]); }
      }
    }
    var pw: array<array<f32, KB>, RM>;
    var pd: array<array<f32, KB>, RM>;
    var keep: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) {
        let i = i0 + t;
        let j = jr[r];
        let valid = i < hi && i32(j) < tlen[t] && (!CAUSAL || j <= i);
        var w = select(0.0, exp(s[r][t] * params.scale - tlse[t]), valid);
        w = select(w, even, i < hi && tlen[t] <= 0);
        var f = 1.0;
        if (DROPOUT) {
          let u = hash_uniform(((b * L + i) * S + j), hseed);
          f = select(0.0, params.drop_scale, u >= params.p);
        }
        pw[r][t] = select(0.0, w, valid);
        pd[r][t] = w * f;
        keep[r][t] = f;
      }
    }
    for (var c = 0u; c < DV4; c++) {
      var g: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { g[t] = dy[ib[t] * DV4 + c]; }
      for (var r = 0u; r < RM; r++) {
        let vv = vr[r][c];
        var a = dva[r][c];
        for (var t = 0u; t < KB; t++) {
          a += pd[r][t] * g[t];
          dp[r][t] += dot(vv, g[t]);
        }
        dva[r][c] = a;
      }
    }
    var ds: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) { ds[r][t] = pw[r][t] * (dp[r][t] * keep[r][t] - tdelta[t]); }
    }
    for (var c = 0u; c < D4; c++) {
      var qv: array<vec4f, KB>;
      for (var t = 0u; t < KB; t++) { qv[t] = q[ib[t] * D4 + c]; }
      for (var r = 0u; r < RM; r++) {
        var a = dka[r][c];
        for (var t = 0u; t < KB; t++) { a += ds[r][t] * qv[t]; }
        dka[r][c] = a;
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let j = j0 + lid.x + r * WG;
    if (j < S) {
      let key = b * S + j;
      for (var c = 0u; c < D4; c++) { dk[key * D4 + c] = dka[r][c] * params.scale; }
      for (var c = 0u; c < DV4; c++) { dv[key * DV4 + c] = dva[r][c]; }
    }
  }
}
