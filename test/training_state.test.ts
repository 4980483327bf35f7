/**
 * The pieces a training checkpoint is made of (src/train/training_run.ts): a random stream's state, an optimizer's
 * state dict (PyTorch's names and keys), the checkpoint's validation, the stores and the trainers' option checks.
 * The end-to-end resume after a device loss is test/resume.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { trainNadarayaWatson } from '../src/experiments/nadaraya_watson.js';
import { Linear } from '../src/nn/linear.js';
import { mul, sum } from '../src/index.js';
import { Adam } from '../src/optim/adam.js';
import { SGD } from '../src/optim/sgd.js';
import type { Optimizer } from '../src/optim/optimizer.js';
import { backward } from '../src/ops/autograd.js';
import { CheckpointError } from '../src/runtime/errors.js';
import { memoryStore } from '../src/train/checkpoint_store.js';
import { fileStore } from '../src/train/checkpoint_store_node.js';
import { encodeSafetensors } from '../src/train/safetensors.js';
import { encodeTrainingCheckpoint, restoreTrainingCheckpoint } from '../src/train/training_checkpoint.js';
import { useEngine } from './engine_fixture.js';

const engine = useEngine();
const dir = mkdtempSync(join(tmpdir(), 'training-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two steps of `opt` on a Linear's sum of squared outputs. */
function steps(net: Linear, opt: Optimizer, n = 2): void {
  for (let i = 0; i < n; i++)
    engine().tidy(() => {
      opt.zeroGrad();
      const y = net.forward(engine().fromArray([0.5, -1, 2, 0.25, 1, -0.5], [2, 3]));
      backward(sum(mul(y, y)));
      opt.step();
    });
}

describe('Random state', () => {
  it('continues the stream exactly, a pending Box–Muller spare included', () => {
    const a = new Random(11);
    a.normal(); // leaves a spare normal
    const state = a.getState();
    expect(state.spareNormal).toBeTypeOf('number');
    const b = new Random(99);
    b.setState(JSON.parse(JSON.stringify(state)));
    expect([b.normal(), b.uniform(), b.int(1000), b.normal()]).toEqual([
      a.normal(),
      a.uniform(),
      a.int(1000),
      a.normal(),
    ]);
  });

  it('rejects a state that is not four 32-bit words', () => {
    const r = new Random(1);
    expect(() => r.setState({ gen: [1, 2, 3] })).toThrow(/four 32-bit integers/);
    expect(() => r.setState({ gen: [1, 2, 3, 2 ** 40] })).toThrow(RangeError);
    expect(() => r.setState({ gen: [1, 2, 3, 4], spareNormal: NaN })).toThrow(/spareNormal/);
  });
});

describe('optimizer state dict', () => {
  it.each([
    ['Adam', (p: Linear) => new Adam(p.parameters(), { lr: 0.01 }), ['exp_avg', 'exp_avg_sq']],
    ['SGD', (p: Linear) => new SGD(p.parameters(), { lr: 0.01, momentum: 0.9 }), ['momentum_buffer']],
  ] as const)('%s: a reloaded state continues as the original does', async (_, make, names) => {
    const rng = new Random(3);
    const a = new Linear(3, 2, { rng });
    const optA = make(a);
    steps(a, optA);
    const state = await optA.stateDict();
    expect(state.step).toBe(2);
    expect(Object.keys(state.tensors).sort()).toEqual(
      [0, 1].flatMap((i) => names.map((n) => `${i}.${n}`)).sort(),
    );
    // A twin with the same weights and the loaded state takes the same next step.
    const b = new Linear(3, 2, { rng: new Random(4) });
    b.loadStateDict(
      Object.fromEntries(await Promise.all(a.namedTensors().map(async ([n, t]) => [n, await t.data()]))),
    );
    const optB = make(b);
    optB.loadStateDict(state);
    steps(a, optA, 1);
    steps(b, optB, 1);
    for (const [[, ta], [, tb]] of a.namedTensors().map((x, i) => [x, b.namedTensors()[i]]))
      expect(Array.from(await tb.data())).toEqual(Array.from(await ta.data()));
    for (const o of [optA, optB]) o.dispose();
    for (const m of [a, b]) m.dispose();
  });

  it('refuses unknown entries, wrong shapes, partial state and a bad step, changing nothing', async () => {
    const net = new Linear(3, 2, { rng: new Random(5) });
    const opt = new Adam(net.parameters());
    steps(net, opt, 1);
    const good = await opt.stateDict();
    const w = good.tensors['0.exp_avg'];
    const bad =
      (tensors: typeof good.tensors, step = 1) =>
      () =>
        opt.loadStateDict({ step, tensors });
    expect(bad({ ...good.tensors, '7.exp_avg': w })).toThrow(/unknown entry "7\.exp_avg"/);
    expect(bad({ ...good.tensors, '0.momentum_buffer': w })).toThrow(/unknown entry/);
    expect(bad({ ...good.tensors, '1.exp_avg': w })).toThrow(
      /"1\.exp_avg" has shape \(2, 3\), parameter 1 \(2\)/,
    );
    const partial = { ...good.tensors };
    delete partial['0.exp_avg_sq'];
    expect(bad(partial)).toThrow(/parameter 0 has exp_avg, needs exp_avg, exp_avg_sq/);
    expect(bad(good.tensors, -1)).toThrow(/step must be a non-negative integer/);
    expect(await opt.stateDict()).toEqual(good);
    opt.dispose();
    net.dispose();
  });
});

describe('training checkpoints', () => {
  it('names the store and the field of a checkpoint that does not fit', async () => {
    const net = new Linear(3, 2, { rng: new Random(6) });
    const opt = new Adam(net.parameters());
    steps(net, opt, 1);
    const bytes = await encodeTrainingCheckpoint(net, opt, {
      trainer: 'trainX',
      epoch: 1,
      batch: 1,
      step: 1,
      rngs: {},
      progress: {},
    });
    expect(() => restoreTrainingCheckpoint(bytes, 'ckpt.safetensors', 'trainY', net, opt)).toThrow(
      /ckpt\.safetensors: trainer: written by "trainX", cannot resume trainY/,
    );
    const other = new Linear(4, 2, { rng: new Random(6) });
    const otherOpt = new Adam(other.parameters());
    expect(() => restoreTrainingCheckpoint(bytes, 'ckpt.safetensors', 'trainX', other, otherOpt)).toThrow(
      /model\.weight: 6 values, the model's \(2, 4\) tensor needs 8/,
    );
    const plain = encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } });
    expect(() => restoreTrainingCheckpoint(plain, 'w.safetensors', 'trainX', net, opt)).toThrow(
      CheckpointError,
    );
    expect(() => restoreTrainingCheckpoint(plain, 'w.safetensors', 'trainX', net, opt)).toThrow(
      /not a training checkpoint/,
    );
    for (const o of [opt, otherOpt]) o.dispose();
    for (const m of [net, other]) m.dispose();
  });

  it('file and memory stores hold one checkpoint, replaced whole', async () => {
    for (const store of [fileStore(join(dir, 'sub', 'run.safetensors')), memoryStore()]) {
      expect(await store.read()).toBeNull();
      await store.write(new Uint8Array([1, 2, 3]));
      await store.write(new Uint8Array([4, 5]));
      expect(Array.from((await store.read())!)).toEqual([4, 5]);
      await store.clear();
      expect(await store.read()).toBeNull();
    }
  });

  it('trainers check the checkpoint options before any work', async () => {
    const store = memoryStore();
    await expect(trainNadarayaWatson({ checkpoint: { store, everySteps: 0 } })).rejects.toThrow(
      /checkpoint\.everySteps must be a positive integer, got 0/,
    );
    await expect(trainNadarayaWatson({ resume: true })).rejects.toThrow(
      /resume: true needs a checkpoint store/,
    );
    const aborted = AbortSignal.abort();
    await expect(trainNadarayaWatson({ signal: aborted })).rejects.toThrow(/abort/i);
    expect(engine().memoryStats().tensors).toBe(0);
  });

  it('a resumed finished run returns its recorded losses without training again', async () => {
    const store = memoryStore();
    const first = await trainNadarayaWatson({ epochs: 3, checkpoint: { store, everySteps: 1 } });
    let stepped = 0;
    const again = await trainNadarayaWatson({ epochs: 3, resume: store, onStep: () => stepped++ });
    expect(again.losses).toEqual(first.losses);
    expect(stepped).toBe(0);
    // Resumed from the middle: one more step each epoch, the same curve.
    const mid = memoryStore();
    await trainNadarayaWatson({ epochs: 2, checkpoint: { store: mid, everySteps: 1 } });
    const longer = await trainNadarayaWatson({
      epochs: 5,
      checkpoint: { store: mid, everySteps: 1 },
      resume: true,
    });
    const full = await trainNadarayaWatson({ epochs: 5 });
    longer.losses.forEach((l, i) =>
      expect(Math.abs(l - full.losses[i])).toBeLessThanOrEqual(1e-5 * Math.abs(full.losses[i])),
    );
    expect(engine().memoryStats().tensors).toBe(0);
  });
});
