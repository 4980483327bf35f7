/** maskedSoftmax on d2l §11.3's own examples, its masked gradients and its errors, vs the float64 reference. */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { maskedSoftmax, maskedSoftmaxBackward, maskedSoftmaxOp } from '../src/ops/masked_softmax.js';
import { backward } from '../src/ops/autograd.js';
import { runReference, type CpuTensor } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { expectClose, f32, makeValues, upload } from './helpers.js';

const engine = useEngine();

/** `torch.rand(shape)` values, rounded to float32. */
function rand(shape: number[], seed: number): number[] {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from(f32(Array.from({ length: n }, () => rng.uniform())));
}

/** The float64 reference: y for x and (optionally) int lens given as flat values with their shape. */
function reference(x: CpuTensor, lens?: CpuTensor): Float64Array {
  return Float64Array.from(
    runReference(maskedSoftmaxOp, lens ? [x, { ...lens, dtype: 'int32' }] : [x], {})[0],
  );
}

function rowsOf(values: ArrayLike<number>, s: number): number[][] {
  return Array.from({ length: values.length / s }, (_, r) => Array.from(values).slice(r * s, (r + 1) * s));
}

describe('d2l §11.3 examples', () => {
  it('masked_softmax(torch.rand(2, 2, 4), torch.tensor([2, 3])) zeroes keys past each length', async () => {
    const xv = rand([2, 2, 4], 1);
    const y = await engine().tidyAsync(async () =>
      maskedSoftmax(engine().fromArray(xv, [2, 2, 4]), engine().fromArray([2, 3], [2], 'int32')).data(),
    );
    expectClose(y, reference({ shape: [2, 2, 4], data: xv }, { shape: [2], data: [2, 3] }), { atol: 1e-6 });
    const rows = rowsOf(y, 4);
    for (const [r, row] of rows.entries()) {
      const len = r < 2 ? 2 : 3;
      expect(row.slice(len)).toEqual(new Array(4 - len).fill(0));
      expect(row.slice(0, len).every((v) => v > 0)).toBe(true);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });

  it('2-D valid lengths [[1, 3], [2, 4]] mask each query row separately', async () => {
    const xv = rand([2, 2, 4], 2);
    const y = await engine().tidyAsync(async () =>
      maskedSoftmax(engine().fromArray(xv, [2, 2, 4]), [
        [1, 3],
        [2, 4],
      ]).data(),
    );
    expectClose(y, reference({ shape: [2, 2, 4], data: xv }, { shape: [2, 2], data: [1, 3, 2, 4] }), {
      atol: 1e-6,
    });
    const rows = rowsOf(y, 4);
    expect(rows[0]).toEqual([1, 0, 0, 0]);
    [1, 3, 2, 4].forEach((len, r) => {
      expect(rows[r].slice(len).every((v) => v === 0)).toBe(true);
      expect(rows[r].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    });
  });

  it('a valid length of 0 gives exactly uniform rows, as d2l’s −1e6 replacement does', async () => {
    const y = await engine().tidyAsync(async () =>
      maskedSoftmax(engine().fromArray(rand([2, 3, 4], 3), [2, 3, 4]), [0, 2]).data(),
    );
    expect(Array.from(y).slice(0, 12)).toEqual(new Array(12).fill(0.25));
  });

  it('fully valid rows (lengths S and > S) equal the plain softmax', async () => {
    const xv = [1, 2, 3, 4, -1, 0, 0.5, 7];
    const [masked, plain] = await engine().tidyAsync(async () => {
      const x = engine().fromArray(xv, [2, 1, 4]);
      return Promise.all([maskedSoftmax(x, [4, 9]).data(), maskedSoftmax(x).data()]);
    });
    expect(Array.from(masked)).toEqual(Array.from(plain));
    const softmax = rowsOf(xv, 4).flatMap((row) => {
      const e = row.map(Math.exp);
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / z);
    });
    expectClose(plain, softmax, { atol: 1e-6 });
  });

  it('huge scores do not overflow (shifted by the row maximum)', async () => {
    const y = await engine().tidyAsync(async () =>
      maskedSoftmax(engine().fromArray([0, 1000, 0, -1000, 500, 999], [2, 3]), [3, 2]).data(),
    );
    expectClose(y, [0, 1, 0, 0, 1, 0], { atol: 1e-6 });
  });

  it('a number[] and an int32 tensor of lengths agree, and any rank ≥ 1 works', async () => {
    const xv = rand([2, 3, 2, 5], 4);
    const [a, b, flat] = await engine().tidyAsync(async () => {
      const x = engine().fromArray(xv, [2, 3, 2, 5]);
      return Promise.all([
        maskedSoftmax(x, [4, 1]).data(),
        maskedSoftmax(x, engine().fromArray([4, 1], [2], 'int32')).data(),
        maskedSoftmax(engine().fromArray(xv.slice(0, 5), [5])).data(),
      ]);
    });
    expect(Array.from(a)).toEqual(Array.from(b));
    expectClose(a, reference({ shape: [2, 3, 2, 5], data: xv }, { shape: [2], data: [4, 1] }), {
      atol: 1e-6,
    });
    expectClose(flat, reference({ shape: [5], data: xv.slice(0, 5) }), { atol: 1e-6 });
  });
});

describe('backward', () => {
  it('masked keys, and whole rows of valid length 0, receive exactly zero gradient', async () => {
    const shape = [2, 2, 4];
    const xv = rand(shape, 5);
    const dyv = rand(shape, 6).map((v) => v - 0.5);
    const lens = [0, 3, 2, 4];
    const [y, dx] = await engine().tidyAsync(async () => {
      const x = engine().fromArray(xv, shape);
      x.requiresGrad = true;
      const out = maskedSoftmax(x, [
        [0, 3],
        [2, 4],
      ]);
      backward(out, engine().fromArray(dyv, shape));
      return Promise.all([out.data(), x.grad!.data()]);
    });
    const rows = rowsOf(dx, 4);
    lens.forEach((len, r) => expect(rows[r].slice(len).every((v) => v === 0)).toBe(true));
    expect(rows[0]).toEqual([0, 0, 0, 0]);
    expect(rows[3].every((v) => v !== 0)).toBe(true);
    const expected = runReference(
      maskedSoftmaxBackward,
      [
        { shape, data: f32(Array.from(y)) },
        { shape, data: f32(dyv) },
        { shape: [2, 2], dtype: 'int32' as const, data: lens },
      ],
      {},
    )[0];
    expectClose(dx, expected, { atol: 1e-6 });
  });

  it('more rows than one grid dimension holds (2-D dispatch), forward and backward', async () => {
    const rows = 70_000;
    const s = 3;
    const rng = new Random(7);
    const xv = Array.from(f32(Array.from({ length: rows * s }, () => rng.normal())));
    const lens = Array.from({ length: rows }, () => rng.int(s + 2));
    const dyv = Array.from(f32(Array.from({ length: rows * s }, () => rng.normal())));
    const [y, dx] = await engine().tidyAsync(async () => {
      const x = engine().fromArray(xv, [rows, s]);
      x.requiresGrad = true;
      const out = maskedSoftmax(x, lens);
      backward(out, engine().fromArray(dyv, [rows, s]));
      return Promise.all([out.data(), x.grad!.data()]);
    });
    const cpuLens = { shape: [rows], dtype: 'int32' as const, data: lens };
    const yRef = reference({ shape: [rows, s], data: xv }, cpuLens);
    expectClose(y, yRef, { atol: 1e-6 });
    const dxRef = runReference(
      maskedSoftmaxBackward,
      [{ shape: [rows, s], data: f32(Array.from(y)) }, { shape: [rows, s], data: dyv }, cpuLens],
      {},
    )[0];
    expectClose(dx, dxRef, { atol: 1e-6 });
  });
});

describe('errors and memory', () => {
  it('lengths that are neither (B) nor (B, L) name the op and both shapes', () => {
    engine().tidy(() => {
      const x = engine().fromArray(new Array(16).fill(0), [2, 2, 4]);
      expect(() => maskedSoftmax(x, [1, 2, 3])).toThrow(
        'masked_softmax: validLens must be (B) or (B, L), the leading dims of x (B, L, S) (got (2, 2, 4), (3,))',
      );
      expect(() => maskedSoftmax(x, engine().fromArray([1, 2, 3, 4], [4, 1], 'int32'))).toThrow(
        /^masked_softmax: .*\(got \(2, 2, 4\), \(4, 1\)\)$/,
      );
      const x2 = engine().fromArray(new Array(8).fill(0), [2, 4]);
      expect(() => maskedSoftmax(x2, [[1], [2]])).toThrow(/^masked_softmax: .*\(got \(2, 4\), \(2, 1\)\)$/);
    });
  });

  it('float32 lengths ask for int32', () => {
    engine().tidy(() => {
      const x = engine().fromArray(new Array(16).fill(0), [2, 2, 4]);
      expect(() => maskedSoftmax(x, engine().fromArray([1, 2], [2]))).toThrow(
        /masked_softmax: validLens must be an int32 tensor, got float32/,
      );
    });
  });

  it('number[] lengths are freed when no gradient is recorded, even on a shape error', () => {
    const x = engine().fromArray(new Array(8).fill(1), [2, 1, 4]);
    const before = engine().memoryStats().tensors;
    const y = maskedSoftmax(x, [1, 2]);
    expect(() => maskedSoftmax(x, [1, 2, 3])).toThrow();
    expect(engine().memoryStats().tensors).toBe(before + 1);
    y.dispose();
    x.dispose();
  });
});

// The kernel set picks one kernel pair (row per thread in the software set, workgroup per row in the hardware set);
// both are checked here on every registry case plus a long row, forward and backward, against the float64 references.
describe.each(['software', 'hardware'] as const)('the %s kernels', (variant) => {
  const cases = [
    ...maskedSoftmaxOp.cases,
    {
      name: 'long rows, 2-D lens',
      inputs: [
        { shape: [3, 2, 1000] },
        { shape: [3, 2], dtype: 'int32' as const, fill: { values: [0, 1, 999, 1000, 1500, 333] } },
      ],
      attrs: {},
    },
  ];
  it.each(cases.map((c, i) => [c.name ?? c.inputs.map((x) => `(${x.shape})`).join(' '), i] as const))(
    '%s',
    async (_name, i) => {
      const saved = engine().profile.kernels;
      engine().setKernels(variant);
      try {
        const rng = new Random(40 + i);
        const [xSpec, lensSpec] = cases[i].inputs;
        const xv = makeValues(xSpec, rng);
        const dyv = makeValues(xSpec, rng);
        const lensv = lensSpec ? makeValues(lensSpec, rng) : null;
        const [y, dx] = await engine().tidyAsync(async () => {
          const x = upload(engine(), xSpec, xv);
          x.requiresGrad = true;
          const out = maskedSoftmax(x, lensSpec ? upload(engine(), lensSpec, lensv!) : null);
          backward(out, engine().fromArray(dyv, xSpec.shape));
          const result = [await out.data(), await x.grad!.data()];
          x.grad!.dispose();
          return result;
        });
        const lens = lensSpec ? [{ shape: lensSpec.shape, dtype: 'int32' as const, data: lensv! }] : [];
        const want = runReference(maskedSoftmaxOp, [{ shape: xSpec.shape, data: f32(xv) }, ...lens], {})[0];
        expectClose(y, want, { atol: 1e-6, what: 'y' });
        const wantDx = runReference(
          maskedSoftmaxBackward,
          [{ shape: xSpec.shape, data: want }, { shape: xSpec.shape, data: f32(dyv) }, ...lens],
          {},
        )[0];
        expectClose(dx, wantDx, { atol: 1e-5, what: 'dx' });
      } finally {
        engine().setKernels(saved);
      }
    },
  );
});
