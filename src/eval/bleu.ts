/**
 * BLEU as d2l defines it (d2l 0.17 §9.7.4 "Evaluation of Predicted Sequences"; §10.7.6 in
 * the newer edition), for one prediction against one label:
 *
 *   score = exp(min(0, 1 − len_label / len_pred)) · Π_{n=1..k} p_n^(1/2^n)
 *
 * where p_n is the number of the prediction's n-grams matched in the label, each label
 * n-gram matching at most as often as it occurs there (clipping), over the number of n-grams
 * in the prediction. Longer n-grams weigh more (1/2^n shrinks, and p ≤ 1), and the brevity
 * penalty lowers the score of a prediction shorter than the label.
 *
 * Both sequences are split on single spaces, as d2l does (`seq.split(' ')`), so `''` has one
 * (empty) token and a double space yields an empty token.
 *
 * One departure: when the prediction has fewer than n tokens for some n ≤ k it has no
 * n-grams, and d2l divides 0 by 0 (ZeroDivisionError at n = len_pred + 1); here p_n = 0 and
 * the score is 0, which is d2l's value for every larger n (0 over a negative count).
 * @param predSeq - the predicted tokens joined by spaces, e.g. `"il est riche ."`.
 * @param labelSeq - the reference tokens joined by spaces.
 * @param k - the longest n-gram, a positive integer (default 2, as d2l's examples).
 * @returns a score in [0, 1]; 1 for an exact match.
 * @throws RangeError if k is not a positive integer.
 */
export function bleu(predSeq: string, labelSeq: string, k = 2): number {
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`bleu: k must be a positive integer, got ${k}`);
  const pred = predSeq.split(' ');
  const label = labelSeq.split(' ');
  let score = Math.exp(Math.min(0, 1 - label.length / pred.length));
  for (let n = 1; n <= k; n++) {
    const nPred = pred.length - n + 1;
    if (nPred <= 0) return 0;
    // Joined with ' ' like d2l, so an n-gram key cannot collide: tokens hold no spaces.
    const labelCounts = new Map<string, number>();
    for (let i = 0; i + n <= label.length; i++) {
      const gram = label.slice(i, i + n).join(' ');
      labelCounts.set(gram, (labelCounts.get(gram) ?? 0) + 1);
    }
    let matches = 0;
    for (let i = 0; i + n <= pred.length; i++) {
      const gram = pred.slice(i, i + n).join(' ');
      const left = labelCounts.get(gram) ?? 0;
      if (left > 0) {
        matches++;
        labelCounts.set(gram, left - 1);
      }
    }
    score *= Math.pow(matches / nPred, Math.pow(0.5, n));
  }
  return score;
}
