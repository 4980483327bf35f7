/**
 * engine.destroy() under a running training loop (README "Errors"): the loop ends with a DeviceLostError and every
 * later op, upload, readback and sync throws it; nothing else escapes. Its own file, so its destroyed device shares
 * no process with the other device-loss tests (Dawn in Node has crashed creating devices after such a sequence).
 */
import { expect, it } from 'vitest';
import { trainClsMlp } from '../src/experiments/cls_mlp.js';
import { add } from '../src/ops/elementwise.js';
import { Engine } from '../src/runtime/engine.js';
import { DeviceLostError } from '../src/runtime/errors.js';
import { setEngine } from '../src/runtime/global.js';

it('engine.destroy() during training ends the loop with DeviceLostError; later ops throw it too', async () => {
  const e = await Engine.create('webgpu');
  setEngine(e);
  const x = e.fromArray([1, 2, 3], [3]);
  const run = trainClsMlp({
    model: 'attention',
    epochs: 2,
    onStep: ({ step }) => {
      if (step === 3) e.destroy();
    },
  });
  const err = await run.catch((x: unknown) => x);
  expect(err).toBeInstanceOf(DeviceLostError);
  expect((err as DeviceLostError).reason).toBe('destroyed');
  expect((err as Error).message).toMatch(/engine\.destroy\(\) was called/);
  expect(() => e.fromArray([1], [1])).toThrow(DeviceLostError);
  expect(() => add(x, x)).toThrow(DeviceLostError);
  await expect(x.data()).rejects.toThrow(DeviceLostError);
  await expect(e.sync()).rejects.toThrow(DeviceLostError);
  expect(() => e.dispatch('fill', { bindings: {}, groups: 1 })).toThrow(DeviceLostError);
  // Disposing after the loss is quiet, and destroy() may be called again.
  x.dispose();
  e.destroy();
  expect(e.memoryStats().tensors).toBe(0);
  setEngine(null);
});
