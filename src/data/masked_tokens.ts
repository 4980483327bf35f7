/**
 * The masked-token ("cls" placeholder) toy data set of the project's seed notes: show the
 * model a window of 10 letters with one replaced by a placeholder and ask which letter it was.
 * The construction is reproduced exactly, quirks included, so results match the notes.
 */
import type { Random } from './random.js';

/**
 * The alphabet string exactly as the seed notes give it: 26 characters, with a second G at
 * index 9 where J belongs and no J at all. Kept verbatim because every id below depends on it.
 */
export const SEED_STRING = 'ABCDEFGHIGKLMNOPQRSTUVWXYZ';

/**
 * Id written at the masked position: 27 (= 26 + 1). It sits outside the label range, and
 * 26 itself is never used.
 */
export const CLS_ID = 27;

/** Number of label classes, [0, 26). Class 9 never occurs: its letter, J, is missing. */
export const NUM_CLASSES = 26;

/** Tokens per window and per sample. */
const WINDOW = 10;

/** The data set: 250 samples (25 windows × 10 masked positions), in construction order. */
export interface MaskedTokenData {
  /**
   * Shape (250, 10), row-major, float32 "plain numbers" (token ids as values, not one-hot):
   * letter ids in [0, 26), CLS_ID at the masked position, and 0 at positions left unwritten.
   */
  inputs: Float32Array;
  /** Shape (250), int32 class ids in [0, 26): `SEED_STRING.indexOf(z)` of the masked letter z. */
  labels: Int32Array;
  /** The 25 windows in order (with repeats); sample i was cut from `windows[floor(i / 10)]`. */
  windows: string[];
}

/**
 * Builds the data set exactly as the seed notes do (ids are Python `str.index`, i.e. the
 * FIRST occurrence, here `indexOf`):
 *
 * - for each of the 26 letters c of SEED_STRING, in order and counting the second G,
 *   start = index(c); the windows are `s[start + 10k : start + 10(k+1)]` for k = 0, 1, …
 *   while the whole window fits (start + 10(k+1) ≤ 26). The second G has start 6, so the
 *   two windows from 6 appear twice, giving 25 windows;
 * - for each window w and each of its letters z (10 samples per window, in window order),
 *   start from ten 0s; every letter t ≠ z writes index(t) at position w.indexOf(t); then
 *   CLS_ID is written at w.indexOf(z); the label is index(z).
 *
 * Quirks kept on purpose: because positions come from the first occurrence in the window,
 * the later copy of a repeated letter (G) is never written and stays 0, which looks like
 * letter A; when z is G, both Gs are skipped and the mask lands on the first, so masking
 * either copy gives the same sample; a 0 is thus ambiguous between A and "unwritten".
 */
export function maskedTokenData(): MaskedTokenData {
  const s = SEED_STRING;
  const windows: string[] = [];
  for (const c of s) {
    const start = s.indexOf(c);
    for (let k = 0; start + WINDOW * (k + 1) <= s.length; k++) {
      windows.push(s.slice(start + WINDOW * k, start + WINDOW * (k + 1)));
    }
  }

  const n = windows.length * WINDOW;
  const inputs = new Float32Array(n * WINDOW);
  const labels = new Int32Array(n);
  let row = 0;
  for (const w of windows) {
    for (const z of w) {
      const x = inputs.subarray(row * WINDOW, (row + 1) * WINDOW);
      for (const t of w) {
        if (t !== z) x[w.indexOf(t)] = s.indexOf(t);
      }
      x[w.indexOf(z)] = CLS_ID;
      labels[row] = s.indexOf(z);
      row++;
    }
  }
  return { inputs, labels, windows };
}

/** A split of {@link maskedTokenData}'s samples into training and held-out sets (indices into its rows). */
export interface MaskedTokenSplit {
  /** Every sample whose input is a training input, duplicates included (they are part of the seed's data). */
  train: number[];
  /** One sample per held-out input: no input here occurs among the training samples. */
  heldOut: number[];
  /** Number of distinct inputs (window, masked position) in the data set. */
  uniqueInputs: number;
}

/**
 * Splits the distinct inputs — a (window, masked position) pair, i.e. one row of ids — into training and held-out
 * sets by a seeded shuffle. The seed's data repeats inputs (its 25 windows are only 16 distinct ones, and masking
 * either G of a window gives one sample), so splitting rows instead would let copies of a training input be "held
 * out".
 * @param fraction share of the distinct inputs held out, in [0, 1); round(fraction · unique) of them.
 * @param rng source of the shuffle (one permutation of the distinct inputs).
 */
export function heldOutSplit(data: MaskedTokenData, fraction: number, rng: Random): MaskedTokenSplit {
  if (!(fraction >= 0 && fraction < 1))
    throw new RangeError(`heldOutSplit: fraction must be in [0, 1), got ${fraction}`);
  const n = data.labels.length;
  const byInput = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = data.inputs.subarray(i * WINDOW, (i + 1) * WINDOW).join(',');
    byInput.set(key, [...(byInput.get(key) ?? []), i]);
  }
  const groups = rng.shuffle([...byInput.values()]);
  const cut = Math.round(fraction * groups.length);
  return {
    heldOut: groups.slice(0, cut).map((g) => g[0]),
    train: groups
      .slice(cut)
      .flat()
      .sort((a, b) => a - b),
    uniqueInputs: groups.length,
  };
}
