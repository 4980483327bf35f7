// shaders/sdpa_forward.wgsl (same math, bindings, params and dispatch; see there) for devices with subgroups of at
// least KB = 8 lanes, WG a multiple of the subgroup size. All threads of a workgroup walk the same keys, so the k and
// v vec4 that sdpa_forward.wgsl has every lane load for itself (on lavapipe a bounds-checked per-lane gather each,
// also where every lane reads the same address) are loaded once per subgroup here: lane t loads key j0 + t and
// subgroupShuffle hands it to the others, as shaders/matmul_subgroup.wgsl does with a. KB loads per lane per vec4
// column become one. Backward: sdpa_backward_delta, _dq, _dkdv.wgsl (or their _subgroup variants).
enable subgroups;
// #import pcg, hash_uniform from "lib/hash.wgsl"
// #import Params, headD4, headDV4, rowLen, keysNeededMax from "lib/sdpa.wgsl"
// #import share from "lib/subgroup_share.wgsl"

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
        @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let L = params.l;
  let S = params.s;
  let D4 = headD4();
  let DV4 = headDV4();
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
    // This lane's key (lanes past KB duplicate one: only lanes 0 … KB − 1 are read).
    let kl = b * S + min(j0 + lane % KB, n - 1u);
    // Zeroed explicitly: lavapipe miscompiles the implicit zero-init of an array declared inside a loop.
    var s: array<array<f32, KB>, RM>;
    for (var r = 0u; r < RM; r++) {
      for (var t = 0u; t < KB; t++) { s[r][t] = 0.0; }
    }
    for (var c = 0u; c < D4; c++) {
      let mine = k[kl * D4 + c];
      let kv = share(mine);
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
      let mine = v[kl * DV4 + c];
      let vv = share(mine);
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
