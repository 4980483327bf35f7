/**
 * The English-French pipeline of d2l 0.17 §9.5 on the real corpus. Expected values marked
 * "d2l" are the book's printed outputs; those marked "reference" come from a transcription of
 * d2l 0.17's `preprocess_nmt` / `tokenize_nmt` / `Vocab` / `build_array_nmt` run in Python
 * on the same fra.txt (SHA-1 c43f99dc…), not from this implementation.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { preprocessNmt, tokenizeNmt } from '../src/data/fra_eng.js';
import { SHARED_FRA_TXT, loadDataNmt, readFraEng } from '../src/data/fra_eng_file.js';
import { buildArray, nmtData, truncatePad } from '../src/data/translation_arrays.js';
import { Vocab } from '../src/data/vocab.js';

const CORPUS = new URL('../../shared/data/fra-eng/fra.txt', import.meta.url);
const CORPUS_PATH = fileURLToPath(CORPUS);

beforeAll(() => {
  if (!existsSync(CORPUS)) {
    throw new Error(
      `fra.txt is missing at ${CORPUS_PATH} (../shared/data/fra-eng/fra.txt beside the checkout); ` +
        'these tests need the real corpus. See ../shared/README.md or ensureFraEng in src/data/download.ts.',
    );
  }
});

describe('preprocessNmt', () => {
  it('spaces punctuation, lowercases and replaces no-break spaces as d2l', () => {
    // Hand-checked against d2l's rule: a space goes before , . ! ? unless one is already there.
    expect(preprocessNmt('Hello,world!Is it?Yes.\u00a0No\u202f!')).toBe('hello ,world !is it ?yes . no !');
    expect(preprocessNmt('.Go')).toBe('.go'); // never before the first character
    expect(preprocessNmt('Wait...')).toBe('wait . . .');
  });

  it('gives the first lines d2l prints and the reference text for the whole corpus', async () => {
    const text = preprocessNmt(await readFile(CORPUS, 'utf8'));
    // d2l: print(text[:80])
    expect(text.slice(0, 80)).toBe(
      'go .\tva !\nhi .\tsalut !\nrun !\tcours !\nrun !\tcourez !\nwho ?\tqui ?\nwow !\tça alors !',
    );
    // reference: SHA-1 and length of preprocess_nmt(raw_text) over all 167,130 lines.
    expect(text.length).toBe(11_816_486);
    expect(createHash('sha1').update(text).digest('hex')).toBe('290d79fab1e2d02a134e244fabe4277fd1934575');
  });
});

describe('tokenizeNmt', () => {
  it("reads lines 0..numExamples inclusive, d2l's off-by-one", () => {
    const text = 'a .\tb .\nc .\td .\ne .\tf .\n';
    expect(tokenizeNmt(text, { numExamples: 1 }).source).toEqual([
      ['a', '.'],
      ['c', '.'],
    ]);
    expect(tokenizeNmt(text, { numExamples: Infinity }).target).toHaveLength(3);
    expect(() => tokenizeNmt(text, { numExamples: 0 })).toThrow(RangeError);
  });

  it('splits on single spaces, keeping empty tokens like str.split', () => {
    expect(tokenizeNmt('a  b\tc d').source).toEqual([['a', '', 'b']]);
  });

  it('keeps the first two columns and accepts \\r\\n line ends', () => {
    expect(tokenizeNmt('go .\tva !\tCC-BY 2.0 (France)\r\nhi .\tsalut !\r\n')).toEqual({
      source: [
        ['go', '.'],
        ['hi', '.'],
      ],
      target: [
        ['va', '!'],
        ['salut', '!'],
      ],
    });
  });

  it('names the file and the 1-based line of a line without a TAB', () => {
    expect(() => tokenizeNmt('go .\tva !\nbroken line\n', { name: 'x/fra.txt' })).toThrow(
      /x\/fra\.txt:2: .*no TAB/,
    );
    expect(() => tokenizeNmt('go .\tva !\n\nhi .\tsalut !\n')).toThrow(/fra\.txt:2:/);
  });
});

describe('readFraEng on the real corpus', () => {
  it('reads 601 pairs by default, the first as d2l prints them', async () => {
    const { source, target } = await readFraEng(CORPUS);
    expect(source).toHaveLength(601);
    expect(target).toHaveLength(601);
    // d2l: source[:6], target[:6]
    expect(source.slice(0, 6)).toEqual([
      ['go', '.'],
      ['hi', '.'],
      ['run', '!'],
      ['run', '!'],
      ['who', '?'],
      ['wow', '!'],
    ]);
    expect(target.slice(0, 6)).toEqual([
      ['va', '!'],
      ['salut', '!'],
      ['cours', '!'],
      ['courez', '!'],
      ['qui', '?'],
      ['ça', 'alors', '!'],
    ]);
    // reference: the 601st pair (line 601 of fra.txt).
    expect(source[600]).toEqual(['i', 'exhaled', '.']);
    expect(target[600]).toEqual(['j’ai', 'expiré', '.']);
    // readFraEng preprocesses only the lines it reads; that must equal d2l's whole-text order.
    const whole = tokenizeNmt(preprocessNmt(await readFile(CORPUS, 'utf8')), { numExamples: 600 });
    expect({ source, target }).toEqual(whole);
  });

  it('builds the vocabularies d2l builds, for 600 examples and for the whole corpus', async () => {
    const opts = { minFreq: 2 };
    const small = await readFraEng(CORPUS, { numExamples: 600 });
    // reference: len(src_vocab), len(tgt_vocab) of load_data_nmt(64, 10, num_examples=600)
    expect(new Vocab(small.source, opts).size).toBe(184);
    expect(new Vocab(small.target, opts).size).toBe(201);
    const all = await readFraEng(CORPUS, { numExamples: Infinity });
    expect(all.source).toHaveLength(167_130);
    // d2l 0.17 §9.5 prints len(src_vocab) = 10012 for the whole corpus; the reference agrees.
    expect(new Vocab(all.source, opts).size).toBe(10_012);
    const tgtVocab = new Vocab(all.target, opts);
    expect(tgtVocab.size).toBe(17_851);
    // reference: 17 double spaces in French lines make '' a (frequent enough) token, as in d2l.
    expect(tgtVocab.index('')).toBe(3887);
  });

  it('fails with the path when the file is missing', async () => {
    await expect(readFraEng('/nonexistent/fra.txt')).rejects.toThrow(/\/nonexistent\/fra\.txt.*shared\/data/);
  });

  it('defaults to ../shared/data/fra-eng/fra.txt', () => {
    expect(fileURLToPath(SHARED_FRA_TXT)).toBe(CORPUS_PATH);
  });
});

describe('buildArray', () => {
  const vocab = new Vocab([['a', 'b', 'a', 'c']], { minFreq: 1 });
  // <unk> 0, <pad> 1, <bos> 2, <eos> 3, a 4, b 5, c 6

  it('appends <eos>, pads with <pad>, truncates (cutting <eos> off) and counts valid lengths', () => {
    const { array, validLen } = buildArray([['a', 'b'], ['c', 'z', 'a', 'b', 'c'], []], vocab, 4);
    expect(Array.from(array)).toEqual([4, 5, 3, 1, 6, 0, 4, 5, 3, 1, 1, 1]);
    expect(Array.from(validLen)).toEqual([3, 4, 1]);
    expect(truncatePad([7, 8], 3, 1)).toEqual([7, 8, 1]);
  });

  it('rejects a vocabulary without <pad>/<eos> and a bad numSteps', () => {
    expect(() => buildArray([['a']], new Vocab(['a'], { minFreq: 1, reservedTokens: [] }))).toThrow(
      RangeError,
    );
    expect(() => buildArray([['a']], vocab, 0)).toThrow(RangeError);
  });
});

describe('loadDataNmt', () => {
  it('batches 601 pairs into 10 batches per epoch, the last of 25, reshuffled each epoch', async () => {
    const data = await loadDataNmt({ path: CORPUS, batchSize: 64, numSteps: 10, seed: 1 });
    expect(data.size).toBe(601);
    expect([data.srcVocab.size, data.tgtVocab.size]).toEqual([184, 201]);

    // reference: build_array_nmt rows of the first pair, go . → va !
    const { src, tgt } = data;
    expect(Array.from(src.array.subarray(0, 10))).toEqual([9, 4, 3, 1, 1, 1, 1, 1, 1, 1]);
    expect(data.srcVocab.toIndices(['go', '.', '<eos>', '<pad>'])).toEqual([9, 4, 3, 1]);
    expect(Array.from(tgt.array.subarray(0, 10))).toEqual([16, 5, 3, 1, 1, 1, 1, 1, 1, 1]);
    expect([src.validLen[0], tgt.validLen[0]]).toEqual([3, 3]);
    // reference: the last pair has the unknown words "exhaled" / "expiré", and the valid-length totals.
    expect(Array.from(src.array.subarray(6000))).toEqual([6, 0, 4, 3, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(tgt.array.subarray(6000))).toEqual([21, 0, 4, 3, 1, 1, 1, 1, 1, 1]);
    expect(src.validLen.reduce((s, x) => s + x, 0)).toBe(2433);
    expect(tgt.validLen.reduce((s, x) => s + x, 0)).toBe(2541);

    const epoch = () => [...data.batches()];
    const e1 = epoch();
    expect(e1.map((b) => b.size)).toEqual([64, 64, 64, 64, 64, 64, 64, 64, 64, 25]);
    const last = e1[9];
    expect([last.X.length, last.XValidLen.length, last.Y.length, last.YValidLen.length]).toEqual([
      250, 25, 250, 25,
    ]);

    // Every pair appears once per epoch, each row with its own valid lengths.
    const rows = new Map<string, number>();
    for (let i = 0; i < 601; i++) {
      const key = [
        ...src.array.subarray(i * 10, i * 10 + 10),
        src.validLen[i],
        ...tgt.array.subarray(i * 10, i * 10 + 10),
        tgt.validLen[i],
      ].join();
      rows.set(key, (rows.get(key) ?? 0) + 1);
    }
    for (const b of e1) {
      for (let r = 0; r < b.size; r++) {
        const key = [
          ...b.X.subarray(r * 10, r * 10 + 10),
          b.XValidLen[r],
          ...b.Y.subarray(r * 10, r * 10 + 10),
          b.YValidLen[r],
        ].join();
        const left = rows.get(key) ?? 0;
        expect(left, 'batch row not in the data set (or seen too often)').toBeGreaterThan(0);
        rows.set(key, left - 1);
      }
    }
    expect([...rows.values()].every((v) => v === 0)).toBe(true);

    const e2 = epoch();
    expect(Array.from(e2[0].X)).not.toEqual(Array.from(e1[0].X));
    // Same seed, same epochs.
    const again = await loadDataNmt({ path: CORPUS, seed: 1 });
    expect(Array.from([...again.batches()][0].X)).toEqual(Array.from(e1[0].X));
  });

  it('holds out a seeded validation split with vocabularies from the training pairs only', async () => {
    const pairs = await readFraEng(CORPUS, { numExamples: 2000 });
    const data = nmtData(pairs, { batchSize: 128, validationFraction: 0.1, seed: 3 });
    const valid = data.validation!;
    expect(valid.size).toBe(200); // round(2001 · 0.1)
    expect(data.size).toBe(1801);
    expect(new Set([...data.indices, ...valid.indices]).size).toBe(2001);
    expect(data.srcVocab.size).toBe(new Vocab(data.indices.map((i) => pairs.source[i])).size);
    // Validation batches come in corpus order, unshuffled, the last one short.
    const vb = [...valid.batches()];
    expect(vb.map((b) => b.size)).toEqual([128, 72]);
    expect(Array.from(vb[0].X.subarray(0, 10))).toEqual(Array.from(valid.src.array.subarray(0, 10)));
    expect(nmtData(pairs, { validationFraction: 0.1, seed: 3 }).validation!.indices).toEqual(valid.indices);
    expect(nmtData(pairs, { validationFraction: 0.1, seed: 4 }).validation!.indices).not.toEqual(
      valid.indices,
    );
    expect(() => nmtData(pairs, { validationFraction: 1 })).toThrow(RangeError);
  });
});
