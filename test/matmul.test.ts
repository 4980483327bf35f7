/**
 * matmul beyond the registry's generic pass: literal values, error messages, transposes, the batch fold, and the
 * hardware kernel set's tiled kernel (forced here, since lavapipe would pick the software set).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Random } from '../src/data/random.js';
import { matmul, matmulOp, type MatmulAttrs } from '../src/ops/matmul.js';
import { backward } from '../src/ops/autograd.js';
import { Engine } from '../src/runtime/engine.js';
import type { KernelSet } from '../src/runtime/kernel_set.js';
import { apply, runReference, type OpCase } from '../src/runtime/op.js';
import { formatShape } from '../src/runtime/tensor.js';
import { useEngine } from './engine_fixture.js';
import { drawCase, expectClose, f32, finiteDifference, reportSubgroupSizes, upload } from './helpers.js';

const engine = useEngine();

function randn(n: number, rng: Random): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

/** The last two dims of a row-major (batch, rows, cols) array swapped, on the CPU. */
function transposeCpu(x: number[], batch: number, rows: number, cols: number): number[] {
  const t = new Array<number>(x.length);
  for (let z = 0; z < batch; z++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) t[z * rows * cols + c * rows + r] = x[z * rows * cols + r * cols + c];
  return t;
}

describe('matmul', () => {
  it('computes a 2×3 · 3×2 product by hand', async () => {
    const a = engine().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = engine().fromArray([7, 8, 9, 10, 11, 12], [3, 2]);
    const y = matmul(a, b);
    expect(y.shape).toEqual([2, 2]);
    // [1·7 + 2·9 + 3·11, 1·8 + 2·10 + 3·12; 4·7 + 5·9 + 6·11, 4·8 + 5·10 + 6·12]
    expect(Array.from(await y.data())).toEqual([58, 64, 139, 154]);
    engine().tidy(() => [a, b, y].forEach((t) => t.dispose()));
  });

  it('names the op and both shapes on bad input', () => {
    engine().tidy(() => {
      const t = (shape: number[]) => engine().empty(shape);
      expect(() => matmul(t([2, 3]), t([4, 2]))).toThrow(
        'matmul: inner dimensions differ (K = 3 vs 4, transA false, transB false) (got (2, 3), (4, 2))',
      );
      expect(() => matmul(t([2, 3]), t([2, 4]), { transB: true })).toThrow(/K = 3 vs 4.*\(2, 3\), \(2, 4\)/);
      expect(() => matmul(t([2, 4, 3]), t([3, 3, 5]))).toThrow(
        'matmul: batch sizes 2 and 3 cannot be broadcast (got (2, 4, 3), (3, 3, 5))',
      );
      expect(() => matmul(t([3]), t([3, 2]))).toThrow(
        'matmul: operands must be 2-D or 3-D (got (3,), (3, 2))',
      );
      expect(() => matmul(t([1, 2, 2, 3]), t([3, 2]))).toThrow(/2-D or 3-D.*\(1, 2, 2, 3\), \(3, 2\)/);
    });
  });

  it('transposed operands equal the product of explicitly transposed copies', async () => {
    const rng = new Random(7);
    // Several 32×32 tiles with ragged edges, batched, on both sides.
    const [batch, m, k, n] = [2, 37, 45, 34];
    const av = randn(batch * m * k, rng);
    const bv = randn(batch * k * n, rng);
    await engine().tidyAsync(async () => {
      const expected = await matmul(
        engine().fromArray(av, [batch, m, k]),
        engine().fromArray(bv, [batch, k, n]),
      ).data();
      const aT = engine().fromArray(transposeCpu(av, batch, m, k), [batch, k, m]);
      const bT = engine().fromArray(transposeCpu(bv, batch, k, n), [batch, n, k]);
      const a = engine().fromArray(av, [batch, m, k]);
      const b = engine().fromArray(bv, [batch, k, n]);
      for (const [x, w, transA, transB] of [
        [aT, b, true, false],
        [a, bT, false, true],
        [aT, bT, true, true],
      ] as const) {
        const y = matmul(x, w, { transA, transB });
        expect(y.shape).toEqual([batch, m, n]);
        expectClose(await y.data(), expected, { what: `transA ${transA} transB ${transB}` });
      }
    });
  });

  it('folds a batched (B, M, K) · (K, N) into one product, with the gradient of the shared operand summed', async () => {
    const rng = new Random(11);
    const [batch, m, k, n] = [3, 5, 4, 6];
    const av = randn(batch * m * k, rng);
    const bv = randn(k * n, rng);
    const dyv = randn(batch * m * n, rng);
    const cpu = (x: number[], xs: number[], w: number[], ws: number[], transA: boolean, transB: boolean) =>
      runReference(
        matmulOp,
        [
          { shape: xs, data: Float64Array.from(Float32Array.from(x)) },
          { shape: ws, data: Float64Array.from(Float32Array.from(w)) },
        ],
        { transA, transB },
      )[0];
    await engine().tidyAsync(async () => {
      const a = engine().fromArray(av, [batch, m, k]);
      const b = engine().fromArray(bv, [k, n]);
      a.requiresGrad = true;
      b.requiresGrad = true;
      const y = matmul(a, b);
      expect(y.shape).toEqual([batch, m, n]);
      expectClose(await y.data(), cpu(av, [batch, m, k], bv, [k, n], false, false), { what: 'y' });
      backward(y, engine().fromArray(dyv, y.shape));
      expect(a.grad!.shape).toEqual([batch, m, k]);
      expect(b.grad!.shape).toEqual([k, n]);
      expectClose(await a.grad!.data(), cpu(dyv, [batch, m, n], bv, [k, n], false, true), { what: 'da' });
      // db = Σ_z a[z]ᵀ·dy[z] = (a as (B·M, K))ᵀ · (dy as (B·M, N)).
      expectClose(await b.grad!.data(), cpu(av, [batch * m, k], dyv, [batch * m, n], true, false), {
        what: 'db',
      });
    });
  });
});

/** One matmul case as the registry writes it. */
function mm(a: number[], b: number[], transA = false, transB = false): OpCase<MatmulAttrs> {
  return { inputs: [{ shape: a }, { shape: b }], attrs: { transA, transB } };
}

function label(c: OpCase<MatmulAttrs>): string {
  const { transA, transB } = c.attrs;
  return `${c.inputs.map((s) => formatShape(s.shape)).join(' · ')}${transA ? ' transA' : ''}${transB ? ' transB' : ''}`;
}

/** The operands of op(a) (m×k) · op(b) (k×n) in their stored layout, with batch dims `ba`, `bb` (0: none). */
function mmDims(m: number, n: number, k: number, transA: boolean, transB: boolean, ba = 0, bb = 0) {
  const a = transA ? [k, m] : [m, k];
  const b = transB ? [n, k] : [k, n];
  return mm(ba ? [ba, ...a] : a, bb ? [bb, ...b] : b, transA, transB);
}

const bools = [false, true] as const;

/** Ragged edges around the 64×64 tile and its K step of 16, which the registry cases barely touch. */
const awkward: OpCase<MatmulAttrs>[] = [
  mm([1, 1], [1, 1]),
  mm([1, 1], [1, 1], true, true),
  // K = 1: one partly filled K step.
  mmDims(37, 70, 1, false, false),
  mmDims(65, 3, 1, true, true),
  // One short of and one past a tile (and of the K step) in every dim, all four transpose combinations.
  ...bools.flatMap((ta) => bools.map((tb) => mmDims(63, 65, 127, ta, tb))),
  ...bools.flatMap((ta) => bools.map((tb) => mmDims(129, 127, 65, ta, tb))),
  mmDims(65, 129, 63, false, true),
  // Broadcast: the shared operand's batch stride is 0 (through apply, not matmul()'s fold into one product).
  mmDims(70, 65, 17, false, false, 3, 0),
  mmDims(70, 65, 17, true, true, 3, 0),
  mmDims(66, 67, 33, false, false, 0, 3),
  mmDims(66, 67, 33, true, false, 1, 3),
  mmDims(66, 67, 33, false, true, 3, 1),
  // A batch of 3 with M, N not multiples of 64.
  mmDims(70, 90, 20, false, false, 3, 3),
  mmDims(70, 90, 20, true, true, 3, 3),
];

/** The GPU output of `c` against the CPU reference, inputs drawn from `seed`. */
async function checkForward(engine: Engine, c: OpCase<MatmulAttrs>, seed: number): Promise<void> {
  const { values, cpuIn } = drawCase(c, seed);
  const [expected] = runReference(matmulOp, cpuIn, c.attrs);
  await engine.tidyAsync(async () => {
    const [y] = apply(
      matmulOp,
      c.inputs.map((s, k) => upload(engine, s, values[k])),
      c.attrs,
    );
    expectClose(await y.data(), expected, { what: `matmul ${label(c)}` });
  });
}

describe("matmul_subgroup written out for 4 lanes (LANES = 4: the adapter reports SwiftShader's 4-lane subgroups)", () => {
  let restore = () => {};
  beforeAll(() => {
    restore = reportSubgroupSizes(engine(), 4, 4);
  });
  afterAll(() => restore());

  // Multiples of 4 in K, N (and M with transA): 64-row tiles (M ≥ 64) and 16-row ones, K steps of 4 k-blocks
  // left partly filled (K / 4 = 5, 1, 11), every transpose, shared operands (batch stride 0).
  const cases = [
    ...bools.flatMap((ta) => bools.map((tb) => mmDims(68, 36, 20, ta, tb))),
    ...bools.flatMap((ta) => bools.map((tb) => mmDims(12, 8, 4, ta, tb))),
    mmDims(72, 40, 44, false, false, 3, 0),
    mmDims(72, 40, 44, true, true, 0, 3),
    mmDims(24, 132, 28, false, true, 2, 2),
  ];
  cases.forEach((c, i) => {
    it(`forward vs CPU reference: ${label(c)}`, async () => {
      const spy = vi.spyOn(engine(), 'dispatch');
      try {
        await checkForward(engine(), c, 5000 + i);
        const subgroups = engine().profile.subgroups;
        expect(spy.mock.calls.map(([kernel]) => kernel)).toEqual([subgroups ? 'matmul_subgroup' : 'matmul']);
        if (subgroups) expect(spy.mock.calls[0][1].constants?.LANES).toBe(4);
      } finally {
        spy.mockRestore();
      }
    });
  });

  it('keeps the loop (LANES = 0) where subgroups have 8 lanes', async () => {
    const eight = reportSubgroupSizes(engine(), 8, 8);
    const spy = vi.spyOn(engine(), 'dispatch');
    try {
      await checkForward(engine(), mmDims(68, 36, 20, false, false), 6000);
      if (engine().profile.subgroups) expect(spy.mock.calls[0][1].constants?.LANES).toBe(0);
    } finally {
      spy.mockRestore();
      eight();
    }
  });
});

describe('matmul, hardware kernel set (matmul_tiled.wgsl)', () => {
  let previous: KernelSet;
  beforeAll(() => {
    previous = engine().profile.kernels;
    engine().setKernels('hardware');
  });
  afterAll(() => engine().setKernels(previous));

  it('dispatches matmul_tiled', async () => {
    const spy = vi.spyOn(engine(), 'dispatch');
    try {
      await checkForward(engine(), mm([5, 3], [3, 4]), 1);
      expect(spy.mock.calls.map(([kernel]) => kernel)).toEqual(['matmul_tiled']);
    } finally {
      spy.mockRestore();
    }
  });

  it("fits WebGPU's default limits (workgroup memory, invocations per workgroup)", async () => {
    const small = await Engine.create('webgpu', { kernels: 'hardware', limits: 'default' });
    try {
      expect(small.profile.limits.maxComputeWorkgroupStorageSize).toBe(16384);
      await small.compileAll(['matmul_tiled']);
      await checkForward(small, mmDims(70, 65, 17, true, false, 2, 2), 5);
    } finally {
      small.destroy();
    }
  });

  matmulOp.cases.forEach((c, i) => {
    it(`registry case ${i}, forward vs CPU reference: ${label(c)}`, () =>
      checkForward(engine(), c, 1000 + i));
  });

  awkward.forEach((c, i) => {
    it(`awkward shape, forward vs CPU reference: ${label(c)}`, () => checkForward(engine(), c, 3000 + i));
  });

  // Backward is three tiled matmuls with other transpose flags; broadcast operands also sum over the batch.
  const gradCases = [
    ...bools.flatMap((ta) => bools.map((tb) => mmDims(5, 3, 7, ta, tb, 2, 0))),
    mmDims(6, 2, 5, false, false, 1, 3),
    mmDims(66, 5, 3, true, false, 2, 2),
  ];
  gradCases.forEach((c, i) => {
    it(`backward vs finite differences: ${label(c)}`, async () => {
      const { rng, values, cpuIn } = drawCase(c, 4000 + i);
      const n = runReference(matmulOp, cpuIn, c.attrs)[0].length;
      const dyValues = Array.from({ length: n }, () => rng.normal());
      const grads = await engine().tidyAsync(async () => {
        const inputs = c.inputs.map((s, k) => upload(engine(), s, values[k]));
        inputs.forEach((t) => (t.requiresGrad = true));
        const [y] = apply(matmulOp, inputs, c.attrs);
        backward(y, engine().fromArray(dyValues, y.shape));
        return Promise.all(inputs.map((t) => t.grad!.data()));
      });
      grads.forEach((g, k) =>
        expectClose(g, finiteDifference(matmulOp, cpuIn, c.attrs, f32(dyValues), k), {
          atol: 2e-3,
          rtol: 2e-3,
          what: `d(input ${k}) of ${label(c)}`,
        }),
      );
    });
  });
});
