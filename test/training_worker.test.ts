/**
 * The Web Worker training API in Node (Dawn): `exposeTrainer` on one end of a MessageChannel and
 * `createTrainingWorker` on the other carry the same comlink messages as a page and its worker (structured clones,
 * the weights' transferred buffer), so these tests check the protocol without a browser; test/demo.e2e.test.ts
 * runs it in a real worker in Chromium. The session is Nadaraya-Watson regression (d2l §10.2) in mini-batches of 10
 * queries: 5 steps an epoch, a heatmap of attention weights.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nwData, nwKeysValues } from '../src/data/nadaraya_watson.js';
import { Random } from '../src/data/random.js';
import { NWKernelRegression } from '../src/models/nadaraya_watson.js';
import { square, sub } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { SGD } from '../src/optim/sgd.js';
import { backward } from '../src/ops/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { useEngine } from './engine_fixture.js';
import { decodeSafetensors } from '../src/train/safetensors.js';
import { createTrainingWorker, type TrainingWorker } from '../src/worker/client.js';
import { exposeTrainer } from '../src/worker/expose.js';
import {
  runTraining,
  type EpochReport,
  type Heatmap,
  type StepReport,
  type TrainingJob,
  type TrainingSession,
} from '../src/worker/session.js';

const BATCH = 10;

interface NwJob extends TrainingJob {
  seed: number;
  /** Throw from the session's first step of this epoch (a failing session). */
  failAt?: number;
}

/** NW kernel regression, SGD lr 0.5 on Σ (ŷ − y)² per batch of 10 consecutive queries. */
function nwSession(e: Engine, { seed, failAt }: NwJob): TrainingSession {
  const rng = new Random(seed);
  const data = nwData(rng);
  const n = data.xTrain.length;
  const { keys, values } = nwKeysValues(data.xTrain, data.yTrain);
  const net = new NWKernelRegression(rng);
  const opt = new SGD(net.parameters(), { lr: 0.5 });
  let epoch = 0;
  const rows = (i: number, count: number) => ({
    x: e.fromArray(data.xTrain.subarray(i, i + count), [count]),
    y: e.fromArray(data.yTrain.subarray(i, i + count), [count]),
    k: e.fromArray(keys.subarray(i * (n - 1), (i + count) * (n - 1)), [count, n - 1]),
    v: e.fromArray(values.subarray(i * (n - 1), (i + count) * (n - 1)), [count, n - 1]),
  });
  const free = (b: ReturnType<typeof rows>) => Object.values(b).forEach((t) => t.dispose());
  return {
    net,
    *epoch() {
      epoch++;
      for (let i = 0; i < n; i += BATCH) {
        if (epoch === failAt) throw new Error(`session failed in epoch ${epoch}`);
        const b = rows(i, BATCH);
        try {
          const loss = e.tidy(() => {
            opt.zeroGrad();
            const l = sum(square(sub(net.forward(b.x, b.k, b.v), b.y)));
            backward(l);
            opt.step();
            return l;
          });
          yield { loss, count: BATCH };
        } finally {
          free(b);
        }
      }
    },
    note: async () => `w = ${(await net.w.data())[0].toFixed(3)}`,
    async heatmap(when) {
      const b = rows(0, 3);
      try {
        const values = await e.tidyAsync(async () => {
          e.noGrad(() => net.forward(b.x, b.k, b.v));
          const flat = Array.from(await net.attentionWeights!.data());
          return [0, 1, 2].map((r) => flat.slice(r * (n - 1), (r + 1) * (n - 1)));
        });
        return { title: `attention ${when}`, values };
      } finally {
        free(b);
      }
    },
    dispose() {
      opt.dispose();
      net.dispose();
    },
  };
}

const engine = useEngine();
let channel: MessageChannel;
let client: TrainingWorker<NwJob, Heatmap>;

beforeAll(async () => {
  channel = new MessageChannel();
  exposeTrainer((job: NwJob) => nwSession(engine(), job), { endpoint: channel.port1, engine: engine() });
  client = createTrainingWorker<NwJob, Heatmap>(channel.port2);
});

afterAll(() => {
  client.terminate();
  channel.port1.close();
});

/** Trains through the worker API, keeping every report. */
async function train(job: NwJob, signal?: AbortSignal) {
  const steps: StepReport[] = [];
  const epochs: EpochReport[] = [];
  const result = await client.train(job, {
    signal,
    onStep: (r) => void steps.push(r),
    onEpoch: (r) => void epochs.push(r),
  });
  return { ...result, steps, epochs };
}

it('reports every step and epoch, and returns the weights as safetensors', { timeout: 60_000 }, async () => {
  const run = await train({ epochs: 2, seed: 0 });
  expect(run.finished).toBe(true);
  expect(run.steps.map((s) => [s.epoch, s.batch, s.step])).toEqual(
    [1, 2].flatMap((epoch) => [1, 2, 3, 4, 5].map((batch) => [epoch, batch, (epoch - 1) * 5 + batch])),
  );
  expect(run.epochs.map((r) => r.epoch)).toEqual([1, 2]);
  for (const r of run.epochs) {
    // The epoch's loss is the mean of its steps' (every batch has 10 queries).
    const mean = run.steps.filter((s) => s.epoch === r.epoch).reduce((a, s) => a + s.loss / 5, 0);
    expect(r.loss).toBeCloseTo(mean, 5);
    expect(r).toMatchObject({ epochs: 2, note: expect.stringMatching(/^w = [\d.-]+$/) });
    expect(r.heatmap!.title).toBe(`attention after epoch ${r.epoch}`);
    expect(r.heatmap!.values.map((row) => row.length)).toEqual([49, 49, 49]);
    for (const row of r.heatmap!.values) expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
  }
  expect(run.losses).toEqual(run.epochs.map((r) => r.loss));
  const { tensors, metadata } = decodeSafetensors(run.weights);
  expect(metadata).toEqual({ format: 'pt' });
  expect(Object.keys(tensors)).toEqual(['w']);
  expect(run.epochs[1].note).toBe(`w = ${tensors.w.data[0].toFixed(3)}`);
  // Every tensor is freed, and the pool's idle buffers destroyed, after a run.
  expect(await client.memoryStats()).toMatchObject({ tensors: 0, inUse: 0, buffers: 0 });

  // The same run in this thread, without the worker API: the same losses and weights.
  const direct = await runTraining(nwSession(engine(), { epochs: 2, seed: 0 }), { epochs: 2 });
  expect(direct.losses).toEqual(run.losses);
  expect(direct.weights).toEqual(run.weights);
  expect(engine().memoryStats()).toMatchObject({ tensors: 0, inUse: 0 });
});

it('stops between steps, and a run from the returned weights continues', { timeout: 60_000 }, async () => {
  const abort = new AbortController();
  const steps: StepReport[] = [];
  const stopped = await client.train(
    { epochs: 50, seed: 0 },
    {
      signal: abort.signal,
      onStep: (r) => {
        steps.push(r);
        if (r.step === 7) abort.abort();
      },
    },
  );
  expect(stopped.finished).toBe(false);
  // The worker may have run a step or two more before the stop reached it; the epoch in flight is not reported.
  expect(stopped.losses.length).toBeLessThan(50);
  expect(steps.length).toBeGreaterThanOrEqual(7);
  expect(Object.keys(decodeSafetensors(stopped.weights).tensors)).toEqual(['w']);

  const three = await train({ epochs: 3, seed: 0 });
  const two = await train({ epochs: 2, seed: 0 });
  const resumed = await train({ epochs: 1, seed: 0, weights: two.weights });
  expect(resumed.losses).toEqual([three.losses[2]]);
  expect(resumed.weights).toEqual(three.weights);
  expect(await client.memoryStats()).toMatchObject({ tensors: 0, inUse: 0 });
});

it(
  'rejects with what the worker or a handler threw, and runs one job at a time',
  { timeout: 60_000 },
  async () => {
    await expect(client.train({ epochs: 0, seed: 0 })).rejects.toThrow(
      /epochs must be a whole number ≥ 1, got 0/,
    );
    await expect(client.train({ epochs: 3, seed: 0, failAt: 2 })).rejects.toThrow(
      'session failed in epoch 2',
    );
    await expect(client.train({ epochs: 1, seed: 0, weights: new Uint8Array([1, 2, 3]) })).rejects.toThrow(
      /job\.weights/,
    );
    // A handler's error stops the run in the worker and rejects train.
    await expect(
      client.train(
        { epochs: 50, seed: 0 },
        {
          onEpoch: () => {
            throw new Error('the page failed to draw');
          },
        },
      ),
    ).rejects.toThrow('the page failed to draw');
    const first = client.train({ epochs: 2, seed: 0 });
    await expect(client.train({ epochs: 1, seed: 0 })).rejects.toThrow(/a run is in progress/);
    expect((await first).finished).toBe(true);
    expect(await client.memoryStats()).toMatchObject({ tensors: 0, inUse: 0 });
  },
);
