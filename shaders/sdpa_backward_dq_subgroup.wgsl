// shaders/sdpa_backward_dq.wgsl (same math, bindings, params and dispatch; see there) for devices with subgroups of at
// least KB = 8 lanes, WG a multiple of the subgroup size. All threads of a workgroup walk the same keys, so the
// k and v vec4 that sdpa_backward_dq.wgsl has every lane load for itself (on lavapipe a bounds-checked per-lane gather
// each, also where every lane reads the same address) are loaded once per subgroup here: lane t loads key
// j0 + t and subgroupBroadcast hands it to the others, as shaders/matmul_subgroup.wgsl shares a. KB loads per lane
// per vec4 column become one.
enable subgroups;
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, headD4, headDV4, rowLen, keysNeededMax from "lib/sdpa.wgsl"
// #import share from "lib/subgroup_share.wgsl"

override WG: u32 = 64u;
// Private arrays need creation-time sizes: head dims up to 4·MAXD4 = 128 (lib/sdpa.wgsl), RM rows × KB keys per step.
const RM = 8u;
const KB = 8u;

// q, k, v, lens: bindings 0–3 (lib/sdpa.wgsl).
@group(0) @binding(4) var<storage, read> dy: array<vec4f>;
@group(0) @binding(5) var<storage, read> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(7) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let L = params.l;
  let S = params.s;
  let D4 = headD4();
  let DV4 = headDV4();
  let b = wid.y + wid.z * nwg.y;
  if (b >= params.batch) { return; }
  let i0 = wid.x * WG * RM;
  let n = keysNeededMax(b, i0, min(i0 + WG * RM, L), 0u);
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
    let st = stats[row];
    rlse[r] = st.x;
    rdelta[r] = st.y;
    for (var c = 0u; c < D4; c++) {
      qr[r][c] = q[row * D4 + c];
      acc[r][c] = vec4f(0.0);
    }
    for (var c = 0u; c < DV4; c++) { dyr[r][c] = dy[row * DV4 + c]; }
  }
  let hseed = pcg(params.seed);
  for (var j0 = 0u; j0 < n; j0 += KB) {
    var kb: array<u32, KB>;
    for (var t = 0u; t < KB; t++) { kb[t] = b * S + min(j0 + t, n - 1u); }
    // This lane's key (lanes past KB duplicate one: only lanes 0 … KB − 1 are read).
    let ml = b * S + min(j0 + lane % KB, n - 1u);
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
      let kv = share(k[ml * D4 + c]);
      for (var r = 0u; r < RM; r++) {
        let qv = qr[r][c];
        for (var t = 0u; t < KB; t++) { s[r][t] += dot(qv, kv[t]); }
      }
    }
    for (var c = 0u; c < DV4; c++) {
      let vv = share(v[ml * DV4 + c]);
      for (var r = 0u; r < RM; r++) {
        let g = dyr[r][c];
        for (var t = 0u; t < KB; t++) { dp[r][t] += dot(g, vv[t]); }
      }
    }
    var ds: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) {
        let j = j0 + t;
        let valid = j < n && i32(j) < len[r] && (!CAUSAL || j <= ir[r]);
        var g = dp[r][t];
        if (DROPOUT) {
          let u = hash_uniform(((b * L + ir[r]) * S + j), hseed);
          g = select(0.0, g * params.drop_scale, u >= params.p);
        }
        ds[r][t] = select(0.0, exp(s[r][t] * params.scale - rlse[r]) * (g - rdelta[r]), valid);
      }
    }
    for (var c = 0u; c < D4; c++) {
      let kv = share(k[ml * D4 + c]);
      for (var r = 0u; r < RM; r++) {
        var a = acc[r][c];
        for (var t = 0u; t < KB; t++) { a += ds[r][t] * kv[t]; }
        acc[r][c] = a;
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let i = i0 + lid.x + r * WG;
    if (i < L) {
      for (var c = 0u; c < D4; c++) { dq[(b * L + i) * D4 + c] = acc[r][c] * params.scale; }
    }
  }
}
