/**
 * Fixed-length arrays and minibatches of the English-French pairs, as d2l 0.17 §9.5
 * (`truncate_pad`, `build_array_nmt`, `load_data_nmt`). Shape key: N examples, B batch,
 * T = numSteps time steps. All arrays are row-major int32.
 */
import { batches as batchIndices } from './batches.js';
import type { FraEngPairs } from './fra_eng.js';
import { Random } from './random.js';
import { NMT_RESERVED_TOKENS, Vocab } from './vocab.js';

/** Token-index sequences of shape (N, T) with their valid lengths (N). */
export interface NmtArray {
  /** Shape (N, T), int32 token indices, `<pad>` after the valid prefix. */
  array: Int32Array;
  /** Shape (N), int32: number of non-`<pad>` entries of each row. */
  validLen: Int32Array;
}

/**
 * d2l `truncate_pad`: the first `numSteps` entries of `line`, or `line` followed by
 * `paddingToken` up to length `numSteps`.
 */
export function truncatePad(line: readonly number[], numSteps: number, paddingToken: number): number[] {
  if (line.length > numSteps) return line.slice(0, numSteps);
  return [...line, ...new Array<number>(numSteps - line.length).fill(paddingToken)];
}

/**
 * d2l 0.17 `build_array_nmt`: each line's indices followed by `<eos>`, truncated or padded
 * with `<pad>` to `numSteps`; truncation can cut `<eos>` off, as in d2l. `validLen` counts
 * the entries that are not `<pad>` (d2l's `(array != pad).sum(1)`).
 * @param lines - N token lists (without `<eos>`).
 * @param vocab - must contain `<pad>` and `<eos>`.
 * @param numSteps - T, a positive integer (default 10).
 * @returns array of shape (N, T) and validLen of shape (N), int32.
 * @throws RangeError if numSteps is not a positive integer or the vocabulary lacks `<pad>` / `<eos>`.
 */
export function buildArray(lines: readonly (readonly string[])[], vocab: Vocab, numSteps = 10): NmtArray {
  if (!Number.isSafeInteger(numSteps) || numSteps < 1) {
    throw new RangeError(`buildArray: numSteps must be a positive integer, got ${numSteps}`);
  }
  const pad = vocab.index('<pad>');
  const eos = vocab.index('<eos>');
  if (pad === vocab.unk || eos === vocab.unk)
    throw new RangeError('buildArray: the vocabulary needs <pad> and <eos>');
  const array = new Int32Array(lines.length * numSteps);
  const validLen = new Int32Array(lines.length);
  lines.forEach((line, n) => {
    const row = truncatePad([...vocab.toIndices(line), eos], numSteps, pad);
    array.set(row, n * numSteps);
    validLen[n] = row.filter((x) => x !== pad).length;
  });
  return { array, validLen };
}

/** One minibatch: B = `size` examples (the last batch of an epoch may be short). */
export interface NmtBatch {
  /** Source indices, shape (B, T), int32. */
  X: Int32Array;
  /** Source valid lengths, shape (B), int32. */
  XValidLen: Int32Array;
  /** Target indices, shape (B, T), int32 (no `<bos>`: the training loop prepends it, as d2l). */
  Y: Int32Array;
  /** Target valid lengths, shape (B), int32. */
  YValidLen: Int32Array;
  /** B, the number of examples in this batch. */
  size: number;
}

/** A split of the data as arrays. */
export interface NmtSplit {
  /** N, the number of pairs. */
  size: number;
  src: NmtArray;
  tgt: NmtArray;
  /** The pairs' 0-based indices into the tokenised corpus (its first numExamples + 1 lines). */
  indices: number[];
  /** One epoch of batches of at most batchSize examples; see {@link NmtData.batches}. */
  batches(): Generator<NmtBatch, void, undefined>;
  /**
   * The stream that shuffles the batches, one permutation per `batches()` call (absent or null: corpus order). A
   * training checkpoint stores its state at the start of the epoch, to draw the epoch's order again on resume.
   */
  shuffleRng?: Random | null;
}

/** The translation data set of {@link nmtData} (and of `loadDataNmt`, src/data/fra_eng_file.ts). */
export interface NmtData extends NmtSplit {
  srcVocab: Vocab;
  tgtVocab: Vocab;
  /** T. */
  numSteps: number;
  /**
   * Training batches: each call is one epoch, reshuffled from the seeded stream (d2l's
   * `DataLoader(shuffle=True)`), with the last partial batch kept.
   */
  batches(): Generator<NmtBatch, void, undefined>;
  /** The held-out pairs when validationFraction > 0, batched in corpus order (no shuffle). */
  validation?: NmtSplit;
}

/** Options of {@link nmtData}. */
export interface NmtDataOptions {
  /** Examples per batch (default 64). */
  batchSize?: number;
  /** T (default 10). */
  numSteps?: number;
  /** Seed of the train/validation split and of the per-epoch shuffles (default 0). */
  seed?: number;
  /**
   * Fraction of pairs held out for validation, in [0, 1) (default 0: d2l's setting). The
   * held-out pairs are drawn by a seeded permutation; vocabularies are built on the training
   * pairs only, so held-out words they lack map to `<unk>`.
   */
  validationFraction?: number;
}

function gather(a: Int32Array, rows: readonly number[], width: number): Int32Array {
  const out = new Int32Array(rows.length * width);
  rows.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

function makeSplit(
  pairs: FraEngPairs,
  indices: number[],
  srcVocab: Vocab,
  tgtVocab: Vocab,
  numSteps: number,
  batchSize: number,
  rng: Random | null,
): NmtSplit {
  const src = buildArray(
    indices.map((i) => pairs.source[i]),
    srcVocab,
    numSteps,
  );
  const tgt = buildArray(
    indices.map((i) => pairs.target[i]),
    tgtVocab,
    numSteps,
  );
  const n = indices.length;
  function* batches(): Generator<NmtBatch, void, undefined> {
    const order = rng ? batchIndices(n, batchSize, rng) : inOrder(n, batchSize);
    for (const rows of order) {
      yield {
        X: gather(src.array, rows, numSteps),
        XValidLen: gather(src.validLen, rows, 1),
        Y: gather(tgt.array, rows, numSteps),
        YValidLen: gather(tgt.validLen, rows, 1),
        size: rows.length,
      };
    }
  }
  return { size: n, src, tgt, indices, batches, shuffleRng: rng };
}

function* inOrder(n: number, batchSize: number): Generator<number[], void, undefined> {
  for (let i = 0; i < n; i += batchSize) {
    yield Array.from({ length: Math.min(batchSize, n - i) }, (_, j) => i + j);
  }
}

/**
 * d2l 0.17 `load_data_nmt` on pairs already tokenised: vocabularies with minFreq 2 and
 * reserved `<pad> <bos> <eos>`, arrays by {@link buildArray}, shuffled minibatches.
 * @throws RangeError for a batchSize that is not a positive integer, a validationFraction
 *   outside [0, 1), or a split that leaves no training pair.
 */
export function nmtData(pairs: FraEngPairs, options: NmtDataOptions = {}): NmtData {
  const { batchSize = 64, numSteps = 10, seed = 0, validationFraction = 0 } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`nmtData: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new RangeError(`nmtData: validationFraction must be in [0, 1), got ${validationFraction}`);
  }
  const n = pairs.source.length;
  if (pairs.target.length !== n)
    throw new RangeError(`nmtData: ${n} sources but ${pairs.target.length} targets`);
  const rng = new Random(seed);
  // Separate streams, so the split does not depend on how many epochs were drawn, and vice versa.
  const splitRng = rng.fork();
  const shuffleRng = rng.fork();

  const nValid = Math.round(n * validationFraction);
  const held = new Set(nValid > 0 ? splitRng.permutation(n).slice(0, nValid) : []);
  // Both splits keep corpus order, so the vocabularies' first-seen tie order is the corpus order.
  const trainIdx: number[] = [];
  const validIdx: number[] = [];
  for (let i = 0; i < n; i++) (held.has(i) ? validIdx : trainIdx).push(i);
  if (trainIdx.length === 0) throw new RangeError(`nmtData: no training pairs left out of ${n}`);

  const vocabOptions = { minFreq: 2, reservedTokens: NMT_RESERVED_TOKENS };
  const srcVocab = new Vocab(
    trainIdx.map((i) => pairs.source[i]),
    vocabOptions,
  );
  const tgtVocab = new Vocab(
    trainIdx.map((i) => pairs.target[i]),
    vocabOptions,
  );
  const train = makeSplit(pairs, trainIdx, srcVocab, tgtVocab, numSteps, batchSize, shuffleRng);
  const data: NmtData = { ...train, srcVocab, tgtVocab, numSteps };
  if (nValid > 0) data.validation = makeSplit(pairs, validIdx, srcVocab, tgtVocab, numSteps, batchSize, null);
  return data;
}
