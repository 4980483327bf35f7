// shaders/sdpa_backward_dkdv.wgsl (same math, bindings, params and dispatch; see there) for devices with subgroups
// of at least KB = 8 lanes, WG a multiple of the subgroup size. All threads of a workgroup walk the same query rows,
// so the q and dy vec4 that sdpa_backward_dkdv.wgsl has every lane load for itself (on lavapipe a bounds-checked
// per-lane gather each, also where every lane reads the same address) are loaded once per subgroup here: lane t
// loads query row i0 + t and subgroupBroadcast hands it to the others, as shaders/matmul_subgroup.wgsl shares a.
// KB loads per lane per vec4 column become one.
enable subgroups;
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, headD4, headDV4, rowLen, rowsNeeded from "lib/sdpa.wgsl"
// #import share from "lib/subgroup_share.wgsl"

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
        @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let L = params.l;
  let S = params.s;
  let D4 = headD4();
  let DV4 = headDV4();
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
    // This lane's query row (lanes past KB duplicate one: only lanes 0 … KB − 1 are read).
    let ml = b * L + min(i0 + lane % KB, hi - 1u);
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
      let qv = share(q[ml * D4 + c]);
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
      let g = share(dy[ml * DV4 + c]);
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
      let qv = share(q[ml * D4 + c]);
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
