/**
 * The English-French corpus of d2l §9.5 "Machine Translation and the Dataset" (d2l 0.17;
 * §10.5 in the newer edition): tab-separated pairs from manythings.org/anki and tatoeba.org,
 * CC-BY 2.0. Preprocessing and tokenisation follow d2l 0.17's `preprocess_nmt` and
 * `tokenize_nmt` exactly, quirks included (see {@link tokenizeNmt}).
 */

/** Attribution the CC-BY licence of the corpus asks for. */
export const FRA_ENG_CREDIT =
  'English-French sentence pairs: manythings.org/anki and tatoeba.org (CC-BY 2.0)';

/** d2l's `load_data_nmt(batch_size, num_steps, num_examples=600)` default. */
export const DEFAULT_NUM_EXAMPLES = 600;

/** Source (English) and target (French) token lists; `source[i]` translates to `target[i]`. */
export interface FraEngPairs {
  source: string[][];
  target: string[][];
}

/** Options of {@link tokenizeNmt} and of `readFraEng` (src/data/fra_eng_file.ts). */
export interface TokenizeOptions {
  /**
   * d2l's `num_examples`: lines with 0-based index i ≤ numExamples are read, so a file of
   * well-formed lines gives numExamples + 1 pairs (d2l's off-by-one, kept). Default 600 (→ 601
   * pairs); `Infinity` reads the whole file (d2l's `None`). Must be ≥ 1: d2l treats 0 as "all"
   * because it is falsy, a trap not worth copying.
   */
  numExamples?: number;
  /** Name used in error messages (the file path); default `'fra.txt'`. */
  name?: string;
}

/**
 * d2l 0.17 `preprocess_nmt`: replaces U+202F (narrow no-break space) and U+00A0 (no-break
 * space) by a space, lowercases, then inserts a space before each of `, . ! ?` that does not
 * already follow a space. The test looks at the previous character of the lowercased text,
 * as d2l does (the newer `_preprocess` indexes the un-lowercased text instead). The first
 * character never gets a space.
 * @param text - raw corpus text (lines `English<TAB>French`).
 * @returns the preprocessed text; its lines still split on `\n` and `\t`.
 */
export function preprocessNmt(text: string): string {
  // Python's str.lower and JS toLowerCase both apply full Unicode case mapping (final sigma included).
  const lower = text.replaceAll('\u202f', ' ').replaceAll('\u00a0', ' ').toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i];
    // Comparing UTF-16 units is safe: the punctuation and the space are single units.
    if (i > 0 && (c === ',' || c === '.' || c === '!' || c === '?') && lower[i - 1] !== ' ') out.push(' ');
    out.push(c);
  }
  return out.join('');
}

/**
 * d2l 0.17 `tokenize_nmt` on preprocessed text: for each line (0-based index i) while
 * i ≤ numExamples, split on TAB and split each side on single spaces, so a double space
 * yields an empty token `''` exactly as Python's `str.split(' ')` does (17 such tokens in the
 * full corpus, all French, none in the first 601 lines). `<eos>` is not appended here but in
 * {@link buildArray}, as in d2l 0.17.
 *
 * Two deliberate departures, neither of which changes the result on d2l's fra.txt:
 * - a line without a TAB throws (d2l skips it silently); a final empty line after the last
 *   `\n` is the file's end, not a pair, and is ignored;
 * - a line with more than two columns keeps the first two (d2l drops it; newer manythings
 *   releases add an attribution column).
 * @param text - output of {@link preprocessNmt}; `\r\n` and `\r` count as line ends, like
 *   Python's universal newlines when d2l opens the file.
 * @throws Error naming the file and the 1-based line number of a line without a TAB.
 * @throws RangeError if numExamples is not an integer ≥ 1 or Infinity.
 */
export function tokenizeNmt(text: string, options: TokenizeOptions = {}): FraEngPairs {
  const { numExamples = DEFAULT_NUM_EXAMPLES, name = 'fra.txt' } = options;
  if (!(numExamples === Infinity || (Number.isSafeInteger(numExamples) && numExamples >= 1))) {
    throw new RangeError(`tokenizeNmt: numExamples must be an integer >= 1 or Infinity, got ${numExamples}`);
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const source: string[][] = [];
  const target: string[][] = [];
  for (let i = 0; i < lines.length && i <= numExamples; i++) {
    const parts = lines[i].split('\t');
    if (parts.length < 2) {
      throw new Error(
        `${name}:${i + 1}: expected "English<TAB>French", found no TAB in ${JSON.stringify(lines[i])}`,
      );
    }
    source.push(parts[0].split(' '));
    target.push(parts[1].split(' '));
  }
  return { source, target };
}
