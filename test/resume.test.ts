/**
 * Device loss and resuming training (README "Errors", "Checkpoints and resuming"): a lost or destroyed device ends
 * a training loop with a DeviceLostError and every later op throws it; a run checkpointed every N steps resumes on
 * a new engine and ends at the uninterrupted run's losses — in Node here and in Chromium (IndexedDB) below.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainClsMlp } from '../src/experiments/cls_mlp.js';
import { trainNadarayaWatson } from '../src/experiments/nadaraya_watson.js';
import { Engine } from '../src/runtime/engine.js';
import { CheckpointError, DeviceLostError } from '../src/runtime/errors.js';
import { setEngine } from '../src/runtime/global.js';
import { memoryStore } from '../src/train/checkpoint_store.js';
import { fileStore } from '../src/train/checkpoint_store_node.js';
import { openTestPage } from './browser.js';
import { DESTROY_AT_STEP, EVERY_STEPS, resumeScenario, type ResumeOutcome } from './resume_scenario.js';

const FRA = join(import.meta.dirname, '../../shared/data/fra-eng/fra.txt');
/** The corpus's first lines: enough for the scenario's 97 pairs. */
const text = readFileSync(FRA, 'utf8').split('\n').slice(0, 200).join('\n');
const dir = mkdtempSync(join(tmpdir(), 'resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The resumed run ends at the uninterrupted one's losses, to float32 rounding (1e-5 relative). */
function expectSameRun(o: ResumeOutcome): void {
  expect(o.error.name).toBe('DeviceLostError');
  expect(o.error.reason).toBe('destroyed');
  expect(o.error.message).toMatch(/WebGPU device lost \(destroyed\).*create a new one with init\(\)/s);
  expect(o.laterOp.name).toBe('DeviceLostError');
  // The last checkpoint before the loss, not the start.
  expect(o.resumedFrom).toBe(Math.floor(DESTROY_AT_STEP / EVERY_STEPS) * EVERY_STEPS);
  expect(o.resumed).toHaveLength(3);
  o.resumed.forEach((l, i) => expect(Math.abs(l - o.reference[i]) / o.reference[i]).toBeLessThan(1e-5));
  // Training moved the loss, so matching it is not trivial.
  expect(o.reference[2]).toBeLessThan(o.reference[0] * 0.95);
  expect(o.leftoverTensors).toBe(0);
}

describe('device loss', () => {
  it('a GPUDevice destroyed under a running loop ends it with DeviceLostError at its next op', async () => {
    const e = await Engine.create('webgpu');
    setEngine(e);
    const err = await trainNadarayaWatson({
      epochs: 4,
      onStep: ({ step }) => {
        if (step === 2) e.device.destroy();
      },
    }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as Error).message).not.toMatch(/BufferPool|AbortError/);
    expect(() => e.fromArray([1], [1])).toThrow(DeviceLostError);
    e.destroy();
    setEngine(null);
  });
});

describe('resuming training', () => {
  it('trainSeq2Seq, destroyed mid-epoch in Node, resumes from its file checkpoint to the same losses', async () => {
    const path = join(dir, 'seq2seq', 'training.safetensors');
    expectSameRun(await resumeScenario(text, () => Engine.create('webgpu'), fileStore(path)));
  });

  it('trainClsMlp resumes mid-epoch (Adam state, shuffle stream, partial sums) to the same curve', async () => {
    const options = { model: 'attention' as const, epochs: 3, heldOut: 0.2, seed: 5 };
    const e1 = await Engine.create('webgpu');
    setEngine(e1);
    const reference = await trainClsMlp(options);
    e1.destroy();
    const store = memoryStore();
    const e2 = await Engine.create('webgpu');
    setEngine(e2);
    await expect(
      trainClsMlp({
        ...options,
        checkpoint: { store, everySteps: 7 },
        onStep: ({ step }) => {
          if (step === 30) e2.destroy();
        },
      }),
    ).rejects.toThrow(DeviceLostError);
    const e3 = await Engine.create('webgpu');
    setEngine(e3);
    const resumed = await trainClsMlp({ ...options, checkpoint: { store, everySteps: 7 }, resume: true });
    for (const key of ['losses', 'accuracies', 'heldOutAccuracies'] as const)
      resumed[key].forEach((v, i) =>
        expect(Math.abs(v - reference[key][i])).toBeLessThan(1e-5 * Math.abs(reference[key][i]) + 1e-7),
      );
    expect(e3.memoryStats().tensors).toBe(0);
    // A checkpoint of another trainer is refused with the store's location.
    await expect(trainNadarayaWatson({ resume: store })).rejects.toThrow(CheckpointError);
    await expect(trainNadarayaWatson({ resume: store })).rejects.toThrow(
      /memory: trainer: written by "cls_attention"/,
    );
    e3.destroy();
    setEngine(null);
  });

  it('an aborted signal stops a trainer before its next step', async () => {
    const e = await Engine.create('webgpu');
    setEngine(e);
    const controller = new AbortController();
    const steps: number[] = [];
    const err = await trainClsMlp({
      epochs: 5,
      signal: controller.signal,
      onStep: ({ step }) => {
        steps.push(step);
        if (step === 4) controller.abort();
      },
    }).catch((x: unknown) => x);
    expect((err as Error).name).toBe('AbortError');
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(e.memoryStats().tensors).toBe(0);
    e.destroy();
    setEngine(null);
  });
});

describe('in Chromium', () => {
  it('trainSeq2Seq, destroyed mid-epoch, resumes from IndexedDB to the same losses', async () => {
    const { page, errors, close } = await openTestPage('resume', 'runResume');
    try {
      const outcome = (await page.evaluate(
        (t: string) =>
          (window as unknown as { runResume: (t: string) => Promise<ResumeOutcome> }).runResume(t),
        text,
      )) as ResumeOutcome & { storedBefore: boolean };
      expect(outcome.storedBefore).toBe(false);
      expectSameRun(outcome);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
