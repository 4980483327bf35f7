/**
 * d2l's `MaskedSoftmaxCELoss` (d2l 0.17 §9.7.3 "Loss Function"; §10.7.3 in the newer edition): cross-entropy per
 * target position, with the `<pad>` positions after each sequence's valid length zeroed out.
 */
import { IGNORE_INDEX, crossEntropy } from '../ops/cross_entropy.js';
import { mul } from '../ops/elementwise.js';
import { checkLens } from '../ops/valid_lens.js';
import { mean } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';

/**
 * The (B, T) float mask of d2l's `sequence_mask`: 1 where t < validLen[b], else 0. Built on the CPU: the lengths
 * are batch data that the caller already holds there, so no readback is needed.
 */
export function sequenceMask(validLen: ArrayLike<number>, numSteps: number): Float32Array {
  const b = validLen.length;
  const mask = new Float32Array(b * numSteps);
  for (let i = 0; i < b; i++) mask.fill(1, i * numSteps, i * numSteps + Math.min(numSteps, validLen[i]));
  return mask;
}

/**
 * `MaskedSoftmaxCELoss()(pred, label, valid_len)` of d2l: unweighted cross-entropy of every position
 * (`reduction='none'`), multiplied by the mask t < validLen[b], then averaged over ALL T positions (not the valid
 * ones), so a sequence's loss is (Σ_valid CE) / T. d2l's example: logits of ones (3, 4, 10), labels ones,
 * validLen [4, 2, 0] → [2.3026, 1.1513, 0]. Labels equal to `ignoreIndex` (PyTorch's `ignore_index`, −100 by
 * default) add 0 and get no gradient, as in the `nn.CrossEntropyLoss(reduction='none')` d2l's loss builds on.
 * @param logits (B, T, V) float32.
 * @param labels (B, T) int32 target ids in [0, V), or ignoreIndex.
 * @param validLen (B) valid lengths, held on the CPU (batch data): finite non-negative integers; values beyond T
 *   count as T.
 * @param options.ignoreIndex default −100.
 * @returns (B) float32 per-sequence losses, differentiable with respect to logits. The uploaded mask and the
 *   intermediates belong to the caller's `tidy` scope, so call it inside one.
 * @throws OpError naming `masked_softmax_ce_loss` and the shapes when logits are not (B, T, V), labels not (B, T)
 *   int32, or validLen does not have B entries; OpError naming the entry when a length is not a non-negative
 *   integer below 2³¹ (1.5, NaN, −1); OpError from `cross_entropy` for a label outside [0, V) (see
 *   {@link crossEntropy}).
 */
export function maskedSoftmaxCELoss(
  logits: Tensor,
  labels: Tensor,
  validLen: ArrayLike<number>,
  { ignoreIndex = IGNORE_INDEX }: { ignoreIndex?: number } = {},
): Tensor {
  const [b, t, v] = logits.shape;
  if (
    logits.shape.length !== 3 ||
    labels.shape.length !== 2 ||
    labels.shape[0] !== b ||
    labels.shape[1] !== t ||
    labels.dtype !== 'int32' ||
    validLen.length !== b
  )
    throw new OpError(
      'masked_softmax_ce_loss',
      'expects logits (B, T, V), labels (B, T) int32, validLen (B)',
      [logits.shape, labels.shape, [validLen.length]],
    );
  checkLens('masked_softmax_ce_loss', validLen);
  const e = logits.engine;
  const ce = reshape(
    crossEntropy(reshape(logits, [b * t, v]), reshape(labels, [b * t]), { reduction: 'none', ignoreIndex }),
    [b, t],
  );
  const mask = e.fromArray(sequenceMask(validLen, t), [b, t]);
  return mean(mul(ce, mask), 1);
}
