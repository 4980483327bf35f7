// What the fused attention kernels share (sdpa_forward, sdpa_backward_dq, sdpa_backward_dkdv and their _subgroup and
// _tiled variants), so that the variants of one op keep the same inputs and params (src/ops/sdpa_fused.ts packs one
// Params for all): q (B, L, D), k (B, S, D), v (B, S, DV) as vec4 rows and lens (B) or (B, L) int32 at bindings
// 0–3, the Params struct, d2l's masked score and the row-length helpers. A kernel declares its outputs from
// binding 4 on and `var<uniform> params: Params` last; the overrides CAUSAL and DROPOUT are declared here.
// #import valid_len from "lib/valid_lens.wgsl"

// Mask key j > query i (the `causal` attribute); apply dropout to the weights (p > 0).
override CAUSAL: bool = false;
override DROPOUT: bool = false;
// Private arrays need creation-time sizes: head dims up to 4·MAXD4 = 128 (SDPA_MAX_HEAD_DIM in sdpa_fused.ts).
const MAXD4 = 32u;
// The head dims in vec4 when the pipeline was made for them (0: read params.d4 / dv4).
override HEAD_D4: u32 = 0u;
override HEAD_DV4: u32 = 0u;

// d2l's `_sequence_mask(X, valid_len, value=-1e6)`: the score a masked key gets.
const MASKED = -1e6;
// Below every score: where a running maximum starts.
const NEG = -3.402823e38;

struct Params { batch: u32, l: u32, s: u32, d4: u32, dv4: u32, lens_rows: u32, scale: f32, p: f32, drop_scale: f32, seed: u32 }

@group(0) @binding(0) var<storage, read> q: array<vec4f>;
@group(0) @binding(1) var<storage, read> k: array<vec4f>;
@group(0) @binding(2) var<storage, read> v: array<vec4f>;
@group(0) @binding(3) var<storage, read> lens: array<i32>;

// Valid keys of query row i of batch item b (lib/valid_lens.wgsl); S without lengths.
fn rowLen(b: u32, i: u32) -> i32 {
  return valid_len(b * params.l + i, params.lens_rows, params.s);
}

// Whether every query row of a batch item has the same valid length (no lengths, or one per item: lens_rows ≥ L), so
// that rowLen(b, 0) serves them all.
fn lenPerItem() -> bool {
  return params.lens_rows == 0u || params.lens_rows >= params.l;
}

// Keys row i must visit: up to its last valid one (and the diagonal when CAUSAL), or `none` when it has no valid
// key: all S in the forward (the uniform row), 0 for dq (a uniform row's dS is 0).
fn keysNeeded(b: u32, i: u32, none: u32) -> u32 {
  let len = rowLen(b, i);
  if (len <= 0) { return none; }
  var n = min(u32(len), params.s);
  if (CAUSAL) { n = min(n, i + 1u); }
  return n;
}

// Whether row i gives any key ≥ j0 a weight: a row without valid keys weighs every key 1/S.
fn rowNeeded(len: i32, i: u32, j0: u32) -> bool {
  return len <= 0 || (i32(j0) < len && (!CAUSAL || j0 <= i));
}

// D / 4 and DV / 4: the pipeline's constants where set, so that loops over them have a known trip count.
fn headD4() -> u32 { return select(params.d4, HEAD_D4, HEAD_D4 > 0u); }
fn headDV4() -> u32 { return select(params.dv4, HEAD_DV4, HEAD_DV4 > 0u); }

// The most keys any query row in [i0, i1) must visit (keysNeeded): one bound for a block of rows keeps every thread's
// loop over keys the same length.
fn keysNeededMax(b: u32, i0: u32, i1: u32, none: u32) -> u32 {
  var n = 0u;
  for (var i = i0; i < i1; i++) { n = max(n, keysNeeded(b, i, none)); }
  return n;
}

// The query rows (lo, hi) of batch item b that give any key ≥ j0 a weight (rowNeeded), hi = 0 when none: one row
// range for a block of keys keeps every thread's loop over rows the same length.
fn rowsNeeded(b: u32, j0: u32) -> vec2u {
  var lo = params.l;
  var hi = 0u;
  for (var i = 0u; i < params.l; i++) {
    if (rowNeeded(rowLen(b, i), i, j0)) {
      lo = min(lo, i);
      hi = i + 1u;
    }
  }
  return vec2u(lo, hi);
}
