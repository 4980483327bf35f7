/**
 * d2l §11.6.3 positional encoding: P against a float64 evaluation and PyTorch's (test/fixtures/attention.json),
 * the relative-position property (a fixed offset is one rotation per frequency), and the module's forward.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { fill } from '../src/ops/elementwise.js';
import { PositionalEncoding, positionalEncodingMatrix } from '../src/nn/positional_encoding.js';
import { OpError } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const engine = useEngine();

const fixture = JSON.parse(readFileSync(new URL('./fixtures/attention.json', import.meta.url), 'utf8'))
  .positional_encoding as { maxLen: number; numHiddens: number; P: number[] };

/** P[pos, 2j] = sin(pos·ω_j), P[pos, 2j+1] = cos(pos·ω_j), ω_j = 10000^(−2j/d), all in float64. */
function float64P(maxLen: number, d: number): Float64Array {
  const p = new Float64Array(maxLen * d);
  for (let pos = 0; pos < maxLen; pos++)
    for (let j = 0; j < d / 2; j++) {
      const angle = pos / Math.pow(10000, (2 * j) / d);
      p[pos * d + 2 * j] = Math.sin(angle);
      p[pos * d + 2 * j + 1] = Math.cos(angle);
    }
  return p;
}

it('matches a float64 evaluation within 1e-4 and d2l/PyTorch to float32 precision for 60 positions', () => {
  const p = positionalEncodingMatrix(60, 32);
  expect(p.length).toBe(60 * 32);
  expectClose(p, float64P(60, 32), { atol: 1e-4, rtol: 0, what: 'P vs float64' });
  expect([fixture.maxLen, fixture.numHiddens]).toEqual([60, 32]);
  expectClose(p, fixture.P, { atol: 1e-6, rtol: 0, what: 'P vs PyTorch' });
  // Column 0 is sin(pos), column 1 cos(pos): ω_0 = 1.
  expect(p[5 * 32]).toBeCloseTo(Math.sin(5), 6);
  expect(p[5 * 32 + 1]).toBeCloseTo(Math.cos(5), 6);
  expect(() => positionalEncodingMatrix(10, 7)).toThrow('numHiddens must be a positive even integer, got 7');
});

it('encodes a fixed offset δ as one rotation per frequency, the same for every position (§11.6.3)', () => {
  const d = 32;
  const p = positionalEncodingMatrix(60, d);
  for (const delta of [1, 3, 7]) {
    for (let j = 0; j < d / 2; j++) {
      const w = 1 / Math.pow(10000, (2 * j) / d);
      // [[cos δω, sin δω], [−sin δω, cos δω]] depends on δ and j only.
      const [c, s] = [Math.cos(delta * w), Math.sin(delta * w)];
      for (const i of [0, 4, 17, 33, 52]) {
        const [a, b] = [p[i * d + 2 * j], p[i * d + 2 * j + 1]];
        expect(Math.abs(p[(i + delta) * d + 2 * j] - (c * a + s * b))).toBeLessThan(1e-5);
        expect(Math.abs(p[(i + delta) * d + 2 * j + 1] - (-s * a + c * b))).toBeLessThan(1e-5);
      }
    }
  }
});

it('adds P[:, :L, :] to every batch item and applies dropout only in training mode', async () => {
  const pe = new PositionalEncoding({ numHiddens: 8, dropout: 0.5, maxLen: 20 });
  expect(pe.P.shape).toEqual([1, 20, 8]);
  // d2l's P is a plain attribute: PyTorch's state_dict has no entry for it.
  expect(pe.namedTensors()).toEqual([]);
  const p = positionalEncodingMatrix(20, 8);
  await engine().tidyAsync(async () => {
    pe.eval();
    for (const l of [5, 20, 5]) {
      const x = fill([2, l, 8], 1);
      const y = pe.forward(x);
      expect(y.shape).toEqual([2, l, 8]);
      const rows = Array.from(p.subarray(0, l * 8), (v) => v + 1);
      expectClose(await y.data(), [...rows, ...rows], { atol: 1e-6, what: `X + P, L = ${l}` });
    }
    pe.train();
    const y = Array.from(await pe.forward(fill([4, 20, 8], 1)).data());
    const expected = Array.from({ length: 4 }, () => Array.from(p, (v) => 2 * (v + 1))).flat();
    const dropped = y.filter((v) => v === 0).length;
    expect(dropped).toBeGreaterThan(0.4 * y.length);
    expect(dropped).toBeLessThan(0.6 * y.length);
    y.forEach((v, i) => {
      if (v !== 0) expect(Math.abs(v - expected[i])).toBeLessThan(1e-5);
    });
  });
  const before = engine().memoryStats().tensors;
  // Length 5 is cached: a forward leaves no tensor behind.
  engine().tidy(() => {
    pe.eval().forward(fill([1, 5, 8], 0));
  });
  expect(engine().memoryStats().tensors).toBe(before);
  expect(() => pe.forward(fill([1, 21, 8], 0))).toThrow(OpError);
  expect(() => pe.forward(fill([1, 3, 6], 0))).toThrow(
    'PositionalEncoding: expects X (B, L, 8) with L <= maxLen = 20 (got (1, 3, 6), (1, 20, 8))',
  );
  pe.dispose();
  expect(pe.P.disposed).toBe(true);
});
