/**
 * The English-French corpus on disk (d2l 0.17 §9.5 `read_data_nmt`, `load_data_nmt`). Node only: the package's
 * `node` entry exports {@link readFraEng}; the parsing it builds on (src/data/fra_eng.ts) and {@link nmtData} stay
 * in the browser entry, which never imports a `node:` module.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_NUM_EXAMPLES,
  preprocessNmt,
  tokenizeNmt,
  type FraEngPairs,
  type TokenizeOptions,
} from './fra_eng.js';
import { nmtData, type NmtData, type NmtDataOptions } from './translation_arrays.js';

/**
 * Where the corpus lives beside the checkout (`../shared/data/fra-eng/fra.txt` from the
 * repository root), resolved from this file so it does not depend on the working directory.
 */
export const SHARED_FRA_TXT = new URL('../../../shared/data/fra-eng/fra.txt', import.meta.url);

/**
 * Reads the corpus file and returns its first pairs, preprocessed and tokenised as d2l 0.17
 * does (`tokenize_nmt(preprocess_nmt(read_data_nmt()), num_examples)`). Node only.
 * @param path - the fra.txt file (default {@link SHARED_FRA_TXT}).
 * @throws Error if the file cannot be read (naming the path and where to get the corpus),
 *   or as {@link tokenizeNmt} for a malformed line.
 */
export async function readFraEng(
  path: string | URL = SHARED_FRA_TXT,
  options: Omit<TokenizeOptions, 'name'> = {},
): Promise<FraEngPairs> {
  const name = path instanceof URL ? fileURLToPath(path) : path;
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (cause) {
    throw new Error(
      `readFraEng: cannot read ${name} (${(cause as Error).message}). ` +
        'Put the corpus at ../shared/data/fra-eng/fra.txt or fetch it with ensureFraEng (src/data/download.ts).',
      { cause },
    );
  }
  // Preprocessing a character looks only backwards, so the text up to the last line read
  // preprocesses exactly as in the whole file; 601 lines need not cost 11 MB of work.
  const { numExamples = DEFAULT_NUM_EXAMPLES } = options;
  let end = -1;
  for (let line = 0; line <= numExamples; line++) {
    end = raw.indexOf('\n', end + 1);
    if (end < 0) break;
  }
  return tokenizeNmt(preprocessNmt(end < 0 ? raw : raw.slice(0, end + 1)), { ...options, name });
}

/** Options of {@link loadDataNmt}. */
export interface LoadDataNmtOptions extends NmtDataOptions {
  /** The fra.txt file (default `../shared/data/fra-eng/fra.txt`). */
  path?: string | URL;
  /** d2l's num_examples (default 600 → 601 pairs, see tokenizeNmt); Infinity for the whole corpus. */
  numExamples?: number;
}

/**
 * d2l 0.17 `load_data_nmt(batch_size, num_steps, num_examples=600)`: reads fra.txt,
 * preprocesses and tokenises its first numExamples + 1 lines, and batches them. Node only.
 * With the defaults this is 601 pairs → 10 batches of 64 and a last one of 25 per epoch.
 * @throws as {@link readFraEng} and {@link nmtData}.
 */
export async function loadDataNmt(options: LoadDataNmtOptions = {}): Promise<NmtData> {
  const { path = SHARED_FRA_TXT, numExamples = DEFAULT_NUM_EXAMPLES, ...rest } = options;
  return nmtData(await readFraEng(path, { numExamples }), rest);
}
