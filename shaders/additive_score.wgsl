// y[b, i, j] = Σ_h w[h] · tanh(q[b, i, h] + k[b, j, h]): the additive attention scores of d2l §11.3
// (`w_v(tanh(W_q q_i + W_k k_j))`) from the projected queries q and keys k. The (B, L, S, H) tanh features are never
// stored: each thread accumulates its score over h from T×T tiles of q and k staged in workgroup memory.
// Shapes: q (B, L, H), k (B, S, H), w (H), y (B, L, S); here H is the hidden size (d2l's num_hiddens).
// Dispatch: (ceil(S / T), ceil(L / T), min(B − z0, 65535)) workgroups of T×T threads, thread (x, y) of workgroup
// (X, Y, Z) computes y[z0 + Z, Y·T + y, X·T + x]; batches past 65535 go out in chunks starting at z0.
// Backward: additive_score_backward.wgsl (dq with per-row dw partials, then dk).
override T: u32 = 16u;

struct Params { l: u32, s: u32, h: u32, z0: u32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// qs[r·T + c] = q[b, i0 + r, h0 + c], ks[r·T + c] = k[b, j0 + r, h0 + c], ws[c] = w[h0 + c].
var<workgroup> qs: array<f32, T * T>;
var<workgroup> ks: array<f32, T * T>;
var<workgroup> ws: array<f32, T>;

@compute @workgroup_size(T, T)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let b = wid.z + params.z0;
  let l = params.l;
  let s = params.s;
  let hn = params.h;
  let i0 = wid.y * T;
  let j0 = wid.x * T;
  var acc = 0.0;
  // The loop bound is uniform, so every thread reaches the barriers; out-of-range threads still help stage tiles.
  for (var h0 = 0u; h0 < hn; h0 += T) {
    let hh = h0 + lid.x;
    var qv = 0.0;
    var kv = 0.0;
    var wv = 0.0;
    if (i0 + lid.y < l && hh < hn) { qv = q[(b * l + i0 + lid.y) * hn + hh]; }
    if (j0 + lid.y < s && hh < hn) { kv = k[(b * s + j0 + lid.y) * hn + hh]; }
    if (hh < hn) { wv = w[hh]; }
    qs[lid.y * T + lid.x] = qv;
    ks[lid.y * T + lid.x] = kv;
    if (lid.y == 0u) { ws[lid.x] = wv; }
    workgroupBarrier();
    let n = min(T, hn - h0);
    for (var c = 0u; c < n; c++) {
      acc += ws[c] * tanh(qs[lid.y * T + c] + ks[lid.x * T + c]);
    }
    workgroupBarrier();
  }
  let i = i0 + lid.y;
  let j = j0 + lid.x;
  if (i < l && j < s) { y[(b * l + i) * s + j] = acc; }
}
