/**
 * Scaled dot-product attention, d2l §11.3 `DotProductAttention` (`dropout(masked_softmax(Q Kᵀ·scale)) V`) and
 * `torch.nn.functional.scaled_dot_product_attention`: the public function and its two paths with one meaning, the
 * fused FlashAttention-2 kernels (sdpa_fused.ts), which never hold the (B, L, S) weights, and the unfused
 * composition matmul → maskedSoftmax → dropout → matmul of existing ops.
 */
import { apply } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { concat, slice } from './concat.js';
import { dropout, nextSeed } from './dropout.js';
import { add, fill, mul } from './elementwise.js';
import { maskedSoftmax } from './masked_softmax.js';
import { matmul } from './matmul.js';
import { SDPA_MAX_HEAD_DIM, sdpaForward, sdpaWeights } from './sdpa_fused.js';
import { preferFused } from './sdpa_path.js';
import { MASKED, dims, type SdpaAttrs } from './sdpa_reference.js';
import { withValidLens, type ValidLens } from './valid_lens.js';

export interface SdpaOptions {
  /**
   * d2l's `valid_lens`: (B) (one per batch item) or (B, L) (one per query row) int32; a number[] / number[][] is
   * uploaded as int32. Keys at positions ≥ the length get the score −1e6 (so a length of 0 averages all S keys).
   */
  validLens?: ValidLens;
  /** Also mask key j > query i (the same −1e6 replacement), combined with validLens. Default false. */
  causal?: boolean;
  /** Multiplies q·k; default 1/√D, pass 1 for the unscaled dot product. */
  scale?: number;
  /** Dropout probability on the weights, in [0, 1) (training mode; pass 0 to evaluate). Default 0. */
  dropout?: number;
  /** u32 dropout seed; default a fresh one from the default generator (`manualSeed`). */
  seed?: number;
  /**
   * true: the fused FlashAttention-2 kernels; false: the unfused composition of existing ops. Unset (default): the
   * faster of the two for this kernel set and size (sdpa_path.ts; fused when the unfused (B, L, S) buffers would
   * be large).
   */
  fused?: boolean;
  /** Also return the (B, L, S) weights before dropout. */
  returnWeights?: boolean;
}

export interface SdpaResult {
  /** (B, L, Dv) float32. */
  output: Tensor;
  /** (B, L, S) weights before dropout when `returnWeights`, else null. */
  weights: Tensor | null;
}

/**
 * Scaled dot-product attention, `dropout(masked_softmax(q kᵀ · scale, validLens)) v`: d2l §11.3
 * `DotProductAttention` (its `masked_softmax` semantics exactly: masked scores are replaced by −1e6, masked keys
 * get exactly zero gradient) with PyTorch's dropout on the weights, and `is_causal` of
 * `torch.nn.functional.scaled_dot_product_attention`.
 *
 * Which path runs: `fused` when given, else the faster one for this kernel set and size (sdpa_path.ts).
 * Fused: three FlashAttention-2 kernels, forward with online softmax and a backward that recomputes the
 * weights from the saved logsumexp, so no (B, L, S) buffer exists unless `returnWeights` asks for it (then a small
 * kernel writes it from the logsumexp; those weights carry no gradient). Head dims that are not multiples of 4 are
 * zero-padded on the way in; head dims above 128 take the unfused path. Unfused: matmul → mul →
 * maskedSoftmax → dropout → matmul; its weights are differentiable. For one seed both paths drop the same weights
 * (element (b, i, j) hashes the flat index (b·L + i)·S + j) and agree to float32 rounding.
 * @param q (B, L, D) float32 queries; B is batch × heads.
 * @param k (B, S, D) float32 keys.
 * @param v (B, S, Dv) float32 values.
 * @returns `{ output: (B, L, Dv), weights: (B, L, S) | null }`.
 * @throws OpError naming `scaled_dot_product_attention` and every shape when q, k, v are not 3-D float32 with one B,
 *   one D (q, k) and one S (k, v) ≥ 1, validLens is neither (B) nor (B, L) int32, or dropout is outside [0, 1).
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SdpaOptions = {},
): SdpaResult {
  return withValidLens(
    q.engine,
    'scaled_dot_product_attention',
    options.validLens,
    (lens) => attend(q, k, v, lens, options),
    (result) => result.output.creator !== null,
  );
}

/** scaledDotProductAttention with its lengths uploaded: picks the path and runs it. */
function attend(q: Tensor, k: Tensor, v: Tensor, lens: Tensor | undefined, options: SdpaOptions): SdpaResult {
  const { causal = false, dropout: p = 0, returnWeights = false } = options;
  const engine = q.engine;
  const dm = dims('scaled_dot_product_attention', q, k, v, lens, p);
  const attrs: SdpaAttrs = {
    causal,
    scale: options.scale ?? 1 / Math.sqrt(dm.d),
    p,
    seed: options.seed ?? nextSeed(),
  };
  const tape = engine.gradEnabled && [q, k, v].some((t) => t.requiresGrad);
  const fused = options.fused ?? preferFused(engine, dm, tape);
  const rest = lens ? [lens] : [];
  const [d4, dv4] = [dm.d, dm.dv].map((d) => 4 * Math.ceil(d / 4));
  let result: SdpaResult;
  if (fused && d4 <= SDPA_MAX_HEAD_DIM && dv4 <= SDPA_MAX_HEAD_DIM) {
    // The kernels read vec4 rows: other head dims are zero-padded (exact: the zeros add nothing to q·k and the
    // padded output columns are cut off; concat and slice route the gradients back).
    const temps: Tensor[] = [];
    const pad = (x: Tensor, to: number) => {
      if (x.shape[2] === to) return x;
      const zeros = fill([x.shape[0], x.shape[1], to - x.shape[2]], 0, engine);
      temps.push(zeros, concat([x, zeros], 2));
      return temps[temps.length - 1];
    };
    const [op, lse] = apply(sdpaForward, [pad(q, d4), pad(k, d4), pad(v, dv4), ...rest], attrs);
    const weights = returnWeights ? apply(sdpaWeights, [q, k, lse, ...rest], attrs)[0] : null;
    const output = slice(op, 2, 0, dm.dv);
    // Without a tape entry nothing reads lse and the padded copies any more; with one, backward does and the
    // enclosing scope frees them.
    if (!op.creator) [lse, ...temps, ...(output === op ? [] : [op])].forEach((t) => t.dispose());
    result = { output, weights };
  } else {
    result = unfused(q, k, v, lens, attrs, returnWeights);
  }
  return result;
}

/** matmul → (causal mask) → maskedSoftmax → dropout → matmul, d2l's `DotProductAttention.forward`. */
function unfused(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  lens: Tensor | undefined,
  a: SdpaAttrs,
  returnWeights: boolean,
): SdpaResult {
  let scores = mul(matmul(q, k, { transB: true }), a.scale);
  if (a.causal) {
    // Replace (not add to) the scores above the diagonal by −1e6, as maskedSoftmax does past the valid length:
    // s·1 + 0 = s exactly and s·0 − 1e6 = −1e6 exactly, and the mask is a constant, so no gradient leaks.
    const [, l, s] = scores.shape;
    const keep = Array.from({ length: l * s }, (_, x) => (x % s <= Math.floor(x / s) ? 1 : 0));
    const e = q.engine;
    const factor = e.fromArray(keep, [l, s]);
    const masked = e.fromArray(
      keep.map((f) => (1 - f) * MASKED),
      [l, s],
    );
    scores = add(mul(scores, factor), masked);
    if (!scores.creator) [factor, masked].forEach((t) => t.dispose());
  }
  const w = maskedSoftmax(scores, lens);
  return { output: matmul(dropout(w, a.p, a.seed), v), weights: returnWeights ? w : null };
}
