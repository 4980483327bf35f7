/**
 * matmul_texture.wgsl, the software set's kernel for large 2-D products where the device has read-only storage
 * textures and one subgroup size of 8 or more (lavapipe): operands copied into scratch textures (a as it lies, b in
 * panels of 8·SG columns, one array layer each), against the float64 CPU reference on ragged shapes; several
 * products of different sizes in one submit (the scratch textures grow and are reused in order); the kernel picked
 * only where its conditions hold; graph capture keeps to the copy-free kernel; scratch memory stays flat.
 */
import { describe, expect, it, vi } from 'vitest';
import { Random } from '../src/data/random.js';
import { backward } from '../src/ops/autograd.js';
import { matmul, matmulOp } from '../src/ops/matmul.js';
import { readOnlyStorageTextures } from '../src/runtime/device.js';
import { Kernel } from '../src/runtime/kernel.js';
import { runReference } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';
import { expectClose, f32, reportSubgroupSizes } from './helpers.js';

const engine = useEngine();

/** Whether this adapter meets matmul_texture's device conditions (lavapipe does: 8-lane subgroups). */
function textureDevice(): boolean {
  const e = engine();
  const info = e.gpu?.adapter.info;
  const sg = info?.subgroupMaxSize ?? 0;
  return (
    e.profile.kernels === 'software' &&
    e.device.features.has('subgroups') &&
    readOnlyStorageTextures(e.gpu) &&
    sg >= 8 &&
    info?.subgroupMinSize === sg
  );
}

function randn(n: number, rng: Random): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

/** y = a·b in float64 (a: m×k, b: k×n, row-major). */
function reference(av: number[], bv: number[], m: number, k: number, n: number): ArrayLike<number> {
  const [y] = runReference(
    matmulOp,
    [
      { shape: [m, k], data: f32(av) },
      { shape: [k, n], data: f32(bv) },
    ],
    { transA: false, transB: false },
  );
  return y;
}

/** The kernels `fn` dispatches. */
function dispatched<T>(fn: () => T): { result: T; kernels: string[] } {
  const spy = vi.spyOn(engine(), 'dispatch');
  try {
    const result = fn();
    return { result, kernels: spy.mock.calls.map(([k]) => k) };
  } finally {
    spy.mockRestore();
  }
}

describe('matmul_texture (operands copied into storage textures)', () => {
  // (M, K, N): M not a multiple of the 32-row tile (33, 70, 257) or exactly one (32); K one k-step of 8 lanes ×
  // 4 (64) or several (192, 256, 320, 512); N of 1, 2, 6, 9 and 10 panels of 64 columns (6: one workgroup of 6
  // subgroups; 9 and 10: a second workgroup column with idle subgroups past the last panel).
  const shapes: [number, number, number][] = [
    [33, 256, 256],
    [100, 64, 384],
    [32, 512, 128],
    [70, 192, 640],
    [257, 320, 576],
    [40, 1024, 64],
  ];
  shapes.forEach(([m, k, n], i) => {
    it(`(${m}, ${k}) · (${k}, ${n}) matches the CPU reference`, async () => {
      const rng = new Random(100 + i);
      const av = randn(m * k, rng);
      const bv = randn(k * n, rng);
      await engine().tidyAsync(async () => {
        const a = engine().fromArray(av, [m, k]);
        const b = engine().fromArray(bv, [k, n]);
        const { result: y, kernels } = dispatched(() => matmul(a, b));
        expect(kernels).toEqual([textureDevice() ? 'matmul_texture' : 'matmul_subgroup']);
        expectClose(await y.data(), reference(av, bv, m, k, n), { what: `(${m}, ${k}) · (${k}, ${n})` });
      });
    });
  });

  it('runs products of different sizes back to back in one submit (scratch textures grow, reused in order)', async () => {
    const rng = new Random(7);
    const dims: [number, number, number][] = [
      [70, 192, 640],
      [33, 256, 256],
      [300, 64, 128],
      [70, 192, 640],
    ];
    const values = dims.map(([m, k, n]) => [randn(m * k, rng), randn(k * n, rng)]);
    await engine().tidyAsync(async () => {
      // Uploads submit pending work, so all inputs go up first; the four products then share one submit.
      const inputs = dims.map(([m, k, n], i) => [
        engine().fromArray(values[i][0], [m, k]),
        engine().fromArray(values[i][1], [k, n]),
      ]);
      const { result: ys, kernels } = dispatched(() => inputs.map(([a, b]) => matmul(a, b)));
      if (textureDevice()) expect(kernels).toEqual(Array(4).fill('matmul_texture'));
      for (let i = 0; i < dims.length; i++) {
        const [m, k, n] = dims[i];
        expectClose(await ys[i].data(), reference(values[i][0], values[i][1], m, k, n), {
          what: `product ${i}`,
        });
      }
    });
  });

  it('trains through it: gradients of a texture-path product match the CPU', async () => {
    const [m, k, n] = [64, 128, 256];
    const rng = new Random(11);
    const av = randn(m * k, rng);
    const bv = randn(k * n, rng);
    const dyv = randn(m * n, rng);
    await engine().tidyAsync(async () => {
      const a = engine().fromArray(av, [m, k]);
      const b = engine().fromArray(bv, [k, n]);
      a.requiresGrad = true;
      b.requiresGrad = true;
      const { result: y, kernels } = dispatched(() => matmul(a, b));
      expect(kernels).toEqual([textureDevice() ? 'matmul_texture' : 'matmul_subgroup']);
      backward(y, engine().fromArray(dyv, [m, n]));
      // x (rows × cols, row-major) transposed: (cols × rows).
      const tr = (x: number[], rows: number, cols: number) =>
        Array.from({ length: x.length }, (_, i) => x[(i % rows) * cols + Math.floor(i / rows)]);
      // da = dy·bᵀ, db = aᵀ·dy (the backward's products are transposed: matmul_subgroup.wgsl).
      expectClose(await a.grad!.data(), reference(dyv, tr(bv, k, n), m, n, k), { what: 'da' });
      expectClose(await b.grad!.data(), reference(tr(av, m, k), dyv, k, m, n), { what: 'db' });
    });
  });

  it('finds its conditions met on lavapipe', () => {
    const info = engine().gpu!.adapter.info;
    const lavapipe = /llvmpipe|lavapipe/i.test(
      [info.vendor, info.architecture, info.device, info.description].join(' '),
    );
    expect(textureDevice()).toBe(lavapipe || textureDevice());
    if (lavapipe) expect(textureDevice()).toBe(true);
  });

  it('is picked only where its conditions hold', () => {
    if (!textureDevice()) return expect(textureDevice()).toBe(false);
    const kernelOf = (a: number[], b: number[], attrs = {}) =>
      engine().tidy(() => dispatched(() => matmul(engine().empty(a), engine().empty(b), attrs)).kernels[0]);
    expect(kernelOf([64, 128], [128, 256])).toBe('matmul_texture');
    // Transposed operands, a batch, K or N off the copies' 64, M under one row tile, too little work.
    expect(kernelOf([128, 64], [128, 256], { transA: true })).toBe('matmul_subgroup');
    expect(kernelOf([64, 128], [256, 128], { transB: true })).toBe('matmul_subgroup');
    expect(kernelOf([2, 64, 128], [2, 128, 256])).toBe('matmul_subgroup');
    expect(kernelOf([64, 132], [132, 256])).toBe('matmul_subgroup');
    expect(kernelOf([64, 128], [128, 260])).toBe('matmul_subgroup');
    expect(kernelOf([16, 1024], [1024, 256])).toBe('matmul_subgroup');
    expect(kernelOf([32, 64], [64, 64])).toBe('matmul_subgroup');
    // SwiftShader's 4-lane subgroups keep matmul_subgroup.
    const four = reportSubgroupSizes(engine(), 4, 4);
    try {
      expect(kernelOf([64, 128], [128, 256])).toBe('matmul_subgroup');
    } finally {
      four();
    }
  });

  it('keeps to the copy-free kernel inside a graph capture, and the replay computes the same', async () => {
    const [m, k, n] = [64, 128, 256];
    const rng = new Random(3);
    const av = randn(m * k, rng);
    const bv = randn(k * n, rng);
    const a = engine().fromArray(av, [m, k]);
    const b = engine().fromArray(bv, [k, n]);
    const spy = vi.spyOn(engine(), 'dispatch');
    const graph = engine().capture(() => matmul(a, b));
    try {
      expect(spy.mock.calls.map(([kn]) => kn)).toEqual(['matmul_subgroup']);
      graph.replay();
      expectClose(await graph.result.data(), reference(av, bv, m, k, n), { what: 'replayed product' });
    } finally {
      spy.mockRestore();
      graph.dispose();
      engine().tidy(() => [a, b].forEach((t) => t.dispose()));
    }
  });

  it('holds its scratch textures flat over many products, with no tensor left behind', async () => {
    const a = engine().fromArray(randn(96 * 128, new Random(1)), [96, 128]);
    const b = engine().fromArray(randn(128 * 256, new Random(2)), [128, 256]);
    const step = () => engine().tidy(() => matmul(a, b).dispose());
    step();
    await engine().sync();
    const before = engine().memoryStats();
    if (textureDevice()) expect(before.textureBytes).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) step();
    await engine().sync();
    const after = engine().memoryStats();
    expect(after.textureBytes).toBe(before.textureBytes);
    expect(after.tensors).toBe(before.tensors);
    expect(after.inUse).toBe(before.inUse);
    engine().tidy(() => [a, b].forEach((t) => t.dispose()));
  });

  it('frees its scratch textures on pool.trim(), also with a product recorded and not yet submitted', async () => {
    const [m, k, n] = [64, 128, 256];
    const rng = new Random(5);
    const av = randn(m * k, rng);
    const bv = randn(k * n, rng);
    await engine().tidyAsync(async () => {
      const a = engine().fromArray(av, [m, k]);
      const b = engine().fromArray(bv, [k, n]);
      await matmul(a, b).data();
      engine().pool!.trim();
      expect(engine().memoryStats().textureBytes).toBe(0);
      // Recorded, then trimmed before its submit: its textures go only after that submit, and it still computes.
      const y = matmul(a, b);
      engine().pool!.trim();
      expectClose(await y.data(), reference(av, bv, m, k, n), { what: 'product recorded before a trim' });
      expect(engine().memoryStats().textureBytes).toBe(0);
      // The next product creates the slots afresh.
      expectClose(await matmul(a, b).data(), reference(av, bv, m, k, n), { what: 'product after a trim' });
      if (textureDevice()) expect(engine().memoryStats().textureBytes).toBeGreaterThan(0);
    });
  });
});

describe('storage textures in a kernel', () => {
  it('reflects a read-only rgba32float texture binding and rejects other texture kinds by name', () => {
    const k = new Kernel(
      'tex_probe',
      engine().device,
      `requires readonly_and_readwrite_storage_textures;
@group(0) @binding(0) var t: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4f>;
@compute @workgroup_size(1) fn main() { y[0] = textureLoad(t, vec2u(0u), 0u); }`,
    );
    expect(k.textureBindings).toEqual([
      {
        name: 't',
        binding: 0,
        type: 'storage-texture',
        texture: { access: 'read-only', format: 'rgba32float', viewDimension: '2d-array' },
      },
    ]);
    expect(k.tensorBindings.map((b) => b.name)).toEqual(['y']);
    expect(
      () =>
        new Kernel(
          'tex_write',
          engine().device,
          `@group(0) @binding(0) var t: texture_storage_2d<rgba32float, write>;
@compute @workgroup_size(1) fn main() { textureStore(t, vec2u(0u), vec4f(0.0)); }`,
        ),
    ).toThrow(
      'kernel "tex_write": storage texture "t" must be a read-only rgba32float texture_storage_2d or ' +
        'texture_storage_2d_array, got texture_storage_2d<rgba32float, write>',
    );
  });

  it('names a missing texture at the dispatch', () => {
    expect(() =>
      engine().tidy(() =>
        engine().dispatch('matmul_texture', {
          bindings: { y: engine().empty([32, 64]) },
          params: { m: 32, n: 64, k: 64 },
          groups: [1, 1],
        }),
      ),
    ).toThrow('matmul_texture: missing texture "at"');
  });
});
