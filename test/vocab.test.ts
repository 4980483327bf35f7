import { describe, expect, it } from 'vitest';
import { Vocab } from '../src/data/vocab.js';

describe('Vocab', () => {
  // First seen z, x, y, w, <eos>; counts x 3, z 2, y 2, <eos> 2, w 1. Expected tables hand-derived
  // and checked against a Python transcription of d2l 0.17's Vocab.
  const lines = [
    ['z', 'x', 'y'],
    ['y', 'x', 'w'],
    ['<eos>', 'z', 'x', '<eos>'],
  ];

  it('orders <unk>, reserved tokens, then tokens by descending frequency with first-seen ties', () => {
    // z and y tie at 2: the stable sort keeps z (seen first) before y; the corpus <eos> keeps index 3.
    const v = new Vocab(lines);
    expect(v.idxToToken).toEqual(['<unk>', '<pad>', '<bos>', '<eos>', 'x', 'z', 'y']);
    expect(v.size).toBe(7);
    expect(v.unk).toBe(0);
  });

  it('drops tokens below minFreq and maps them to <unk>', () => {
    const v = new Vocab(lines, { minFreq: 3, reservedTokens: [] });
    expect(v.idxToToken).toEqual(['<unk>', 'x']);
    expect(v.toIndices(['x', 'y', 'never'])).toEqual([1, 0, 0]);
    expect(new Vocab(lines, { minFreq: 1 }).size).toBe(8);
  });

  it('accepts a flat token list like d2l count_corpus', () => {
    expect(new Vocab(lines.flat()).idxToToken).toEqual(new Vocab(lines).idxToToken);
    expect(new Vocab([]).idxToToken).toEqual(['<unk>', '<pad>', '<bos>', '<eos>']);
  });

  it('maps tokens to indices and back', () => {
    const v = new Vocab(lines);
    const idx = v.toIndices(['y', 'x', '<pad>']);
    expect(idx).toEqual([6, 4, 1]);
    expect(v.toTokens(idx)).toEqual(['y', 'x', '<pad>']);
    expect(v.toTokens(Int32Array.from([0, 3]))).toEqual(['<unk>', '<eos>']);
    expect(() => v.toTokens([7])).toThrow(RangeError);
    expect(() => v.toTokens([-1])).toThrow(RangeError);
  });

  it('round-trips through JSON', () => {
    const v = new Vocab(lines, { minFreq: 1 });
    const w = Vocab.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(w.idxToToken).toEqual(v.idxToToken);
    expect(w.toIndices(['w', 'y', 'q'])).toEqual(v.toIndices(['w', 'y', 'q']));
    expect(() => Vocab.fromJSON({ idxToToken: ['a'] })).toThrow(/<unk>/);
    expect(() => Vocab.fromJSON({ idxToToken: ['<unk>', 'a', 'a'] })).toThrow(/duplicate/);
  });

  it('rejects repeated reserved tokens', () => {
    expect(() => new Vocab([], { reservedTokens: ['<pad>', '<pad>'] })).toThrow(RangeError);
    expect(() => new Vocab([], { reservedTokens: ['<unk>'] })).toThrow(RangeError);
  });
});
