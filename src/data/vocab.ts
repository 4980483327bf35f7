/** Index 0 is always the unknown token, as in d2l. */
const UNK = '<unk>';

/** The reserved tokens of d2l's `load_data_nmt`. */
export const NMT_RESERVED_TOKENS: readonly string[] = ['<pad>', '<bos>', '<eos>'];

/** Options of {@link Vocab}. */
export interface VocabOptions {
  /** Tokens seen fewer times than this are left out and map to `<unk>` (default 2, as `load_data_nmt`). */
  minFreq?: number;
  /** Tokens placed right after `<unk>`, in this order (default `['<pad>', '<bos>', '<eos>']`). */
  reservedTokens?: readonly string[];
}

/** The serialised form of a {@link Vocab}: the index → token table, for checkpoints. */
export interface VocabJSON {
  idxToToken: string[];
}

/**
 * Token ↔ index table, built as d2l 0.17's `Vocab` (d2l §8.2 "Text Preprocessing"): index 0
 * is `<unk>`, then the reserved tokens, then the corpus tokens by descending frequency, ties
 * in first-seen order (d2l sorts `Counter.items()` with Python's stable sort, and a Counter
 * iterates in insertion order), stopping at the first token seen fewer than `minFreq` times.
 * A corpus token equal to `<unk>` or a reserved token keeps its earlier index. The newer
 * d2l `Vocab` sorts tokens alphabetically instead; this follows the older one, whose indices
 * the book's printed arrays use.
 */
export class Vocab {
  /** Index → token; its length is {@link Vocab.size}. */
  readonly idxToToken: readonly string[];
  private readonly tokenToIdx: Map<string, number>;

  /**
   * @param tokens - a corpus as token lines (string[][], flattened as d2l's `count_corpus`
   *   does) or as one flat token list (string[]).
   * @throws RangeError if minFreq is not a finite number, or a reserved token repeats or is `<unk>`.
   */
  constructor(tokens: readonly (readonly string[])[] | readonly string[], options: VocabOptions = {}) {
    const { minFreq = 2, reservedTokens = NMT_RESERVED_TOKENS } = options;
    if (!Number.isFinite(minFreq))
      throw new RangeError(`Vocab: minFreq must be a finite number, got ${minFreq}`);
    // A Map iterates in insertion order, like collections.Counter, so ties keep first-seen order.
    const counts = new Map<string, number>();
    const count = (t: string) => counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const item of tokens) {
      if (typeof item === 'string') count(item);
      else for (const t of item) count(t);
    }
    // Array.prototype.sort is stable (ES2019), as Python's sorted(reverse=True) is.
    const freqs = [...counts].sort((a, b) => b[1] - a[1]);

    const table = [UNK, ...reservedTokens];
    this.tokenToIdx = new Map();
    table.forEach((t, i) => {
      if (this.tokenToIdx.has(t)) throw new RangeError(`Vocab: token ${JSON.stringify(t)} is reserved twice`);
      this.tokenToIdx.set(t, i);
    });
    for (const [token, freq] of freqs) {
      if (freq < minFreq) break;
      if (!this.tokenToIdx.has(token)) {
        this.tokenToIdx.set(token, table.length);
        table.push(token);
      }
    }
    this.idxToToken = table;
  }

  /** Number of tokens, `len(vocab)` in d2l. */
  get size(): number {
    return this.idxToToken.length;
  }

  /** Index of `<unk>`: 0. */
  get unk(): number {
    return 0;
  }

  /** Index of one token; `<unk>`'s index for a token not in the table (d2l `vocab[token]`). */
  index(token: string): number {
    return this.tokenToIdx.get(token) ?? this.unk;
  }

  /** Indices of a token list; unknown tokens map to `<unk>` (d2l `vocab[tokens]`). */
  toIndices(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.index(t));
  }

  /**
   * Tokens of an index list (d2l `vocab.to_tokens`).
   * @throws RangeError for an index that is not an integer in [0, size).
   */
  toTokens(indices: ArrayLike<number>): string[] {
    return Array.from(indices, (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= this.size) {
        throw new RangeError(`Vocab.toTokens: index ${i} is outside [0, ${this.size})`);
      }
      return this.idxToToken[i];
    });
  }

  /** The index → token table; `Vocab.fromJSON(JSON.parse(JSON.stringify(v)))` gives the same indices. */
  toJSON(): VocabJSON {
    return { idxToToken: [...this.idxToToken] };
  }

  /**
   * Rebuilds a vocabulary from {@link Vocab.toJSON} output (e.g. a checkpoint's `vocab.json`).
   * @throws Error naming the bad entry when `json` is not `{ idxToToken: string[] }` of distinct tokens starting
   *   with `<unk>` (a checkpoint loader adds the file to it).
   */
  static fromJSON(json: VocabJSON): Vocab {
    const table: unknown = (json as { idxToToken?: unknown } | null)?.idxToToken;
    if (!Array.isArray(table))
      throw new Error(
        'Vocab.fromJSON: expected { idxToToken: string[] }, idxToToken is missing or not an array',
      );
    if (table[0] !== UNK)
      throw new Error(`Vocab.fromJSON: idxToToken[0] must be "${UNK}", got ${JSON.stringify(table[0])}`);
    const seen = new Map<string, number>();
    table.forEach((t: unknown, i) => {
      if (typeof t !== 'string')
        throw new Error(`Vocab.fromJSON: idxToToken[${i}] is ${JSON.stringify(t)}, not a string`);
      if (seen.has(t))
        throw new Error(`Vocab.fromJSON: idxToToken has duplicate token "${t}" (at ${seen.get(t)} and ${i})`);
      seen.set(t, i);
    });
    // Every table token occurs once and minFreq 1 keeps them all, in table order.
    return new Vocab((table as string[]).slice(1), { minFreq: 1, reservedTokens: [] });
  }
}
