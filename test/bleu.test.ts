/** BLEU as d2l §9.7.4 (0.17) / §10.7.6 defines it; expected values worked out by hand. */
import { describe, expect, it } from 'vitest';
import { bleu } from '../src/eval/bleu.js';

describe('bleu', () => {
  it('is 1 for an exact match and 0 without a common unigram', () => {
    expect(bleu('go .', 'go .')).toBe(1);
    expect(bleu("j'ai perdu .", "j'ai perdu .", 3)).toBe(1);
    expect(bleu('go .', 'va !', 2)).toBe(0);
  });

  it("reproduces d2l's printed seq2seq scores", () => {
    // d2l 0.17 §9.7: "he's calm . => il est riche ., bleu 0.658" (label "il est calme .").
    // Equal lengths, p1 = 3/4, p2 = 1/3: (3/4)^(1/2) · (1/3)^(1/4).
    const calm = bleu('il est riche .', 'il est calme .', 2);
    expect(calm).toBeCloseTo(Math.sqrt(3 / 4) * Math.pow(1 / 3, 1 / 4), 12);
    expect(calm.toFixed(3)).toBe('0.658');
    // d2l 0.17 §9.7: "i'm home . => je suis en retard ?, bleu 0.447" (label "je suis chez moi .").
    // p1 = 2/5, p2 = 1/4: (2/5)^(1/2) · (1/4)^(1/4).
    const home = bleu('je suis en retard ?', 'je suis chez moi .', 2);
    expect(home).toBeCloseTo(Math.sqrt(2 / 5) * Math.pow(1 / 4, 1 / 4), 12);
    expect(home.toFixed(3)).toBe('0.447');
  });

  it('applies the brevity penalty only to a prediction shorter than the label', () => {
    // len_pred 2, len_label 4, all n-grams match: exp(1 − 4/2) = e^−1.
    expect(bleu('a b', 'a b c d')).toBeCloseTo(Math.exp(-1), 12);
    // A longer prediction is not penalised by length, only by precision: p1 = 2/4, p2 = 1/3.
    expect(bleu('a b c d', 'a b')).toBeCloseTo(Math.pow(2 / 4, 1 / 2) * Math.pow(1 / 3, 1 / 4), 12);
  });

  it('clips repeated n-grams to their count in the label', () => {
    // "the" occurs once in the label, so only one of the three predicted "the" matches: p1 = 1/3.
    expect(bleu('the the the', 'the cat', 1)).toBeCloseTo(Math.sqrt(1 / 3), 12);
    // Two "a" in the label: two of three match; bigram "a a" occurs once: p2 = 1/2.
    expect(bleu('a a a', 'a a b', 2)).toBeCloseTo(Math.sqrt(2 / 3) * Math.pow(1 / 2, 1 / 4), 12);
  });

  it('gives 0 when the prediction is shorter than k tokens (d2l divides by zero)', () => {
    expect(bleu('va', 'va !', 2)).toBe(0);
    expect(bleu('va', 'va', 1)).toBe(1);
    expect(() => bleu('a', 'a', 0)).toThrow(RangeError);
  });
});
