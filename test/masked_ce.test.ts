/** d2l's `MaskedSoftmaxCELoss` example and its gradient, on WebGPU and the CPU reference. */
import { describe, expect, it } from 'vitest';
import { fill } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { backward } from '../src/ops/autograd.js';
import { OpError } from '../src/runtime/op.js';
import { maskedSoftmaxCELoss, sequenceMask } from '../src/train/loss.js';
import { teacherForcingInput } from '../src/train/trainer.js';
import { BACKENDS, useEngine } from './engine_fixture.js';

describe.each(BACKENDS)('maskedSoftmaxCELoss on %s', (backend) => {
  const engine = useEngine(backend);

  it("gives d2l's example: ones (3, 4, 10), labels ones, valid lengths [4, 2, 0] → [2.3026, 1.1513, 0]", async () => {
    const e = engine();
    await e.tidyAsync(async () => {
      const logits = fill([3, 4, 10], 1, e);
      const labels = e.fromArray(new Array(12).fill(1), [3, 4], 'int32');
      const l = maskedSoftmaxCELoss(logits, labels, [4, 2, 0]);
      expect(l.shape).toEqual([3]);
      const v = Array.from(await l.data());
      [Math.log(10), Math.log(10) / 2, 0].forEach((want, i) => expect(v[i]).toBeCloseTo(want, 5));
    });
  });

  it('sends gradient only to valid positions, scaled by 1/T', async () => {
    const e = engine();
    await e.tidyAsync(async () => {
      const logits = fill([2, 3, 4], 0, e);
      logits.requiresGrad = true;
      const labels = e.fromArray([0, 1, 2, 3, 0, 1], [2, 3], 'int32');
      backward(sum(maskedSoftmaxCELoss(logits, labels, [1, 3])));
      const g = Array.from(await logits.grad!.data());
      // Uniform softmax 1/4; dlogit = (1/4 − onehot) / T at valid positions, 0 at the masked ones.
      const want = [0, 1, 2, 3, 0, 1].flatMap((label, i) => {
        const valid = i < 1 || i >= 3;
        return [0, 1, 2, 3].map((c) => (valid ? (0.25 - (c === label ? 1 : 0)) / 3 : 0));
      });
      g.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    });
  });
});

describe('helpers', () => {
  const cpu = useEngine('cpu');

  it('builds the sequence mask and the teacher-forcing input', () => {
    expect(Array.from(sequenceMask([2, 0, 5], 3))).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1]);
    expect(Array.from(teacherForcingInput(Int32Array.from([5, 6, 7, 8, 9, 10]), 2, 3, 1))).toEqual([
      1, 5, 6, 1, 8, 9,
    ]);
  });

  it('names the op and the shapes when they disagree', () => {
    const e = cpu();
    e.tidy(() => {
      const logits = fill([2, 3, 4], 0, e);
      const labels = e.fromArray([0, 1, 2, 3, 0, 1], [2, 3], 'int32');
      expect(() => maskedSoftmaxCELoss(logits, labels, [1])).toThrow(OpError);
      expect(() => maskedSoftmaxCELoss(logits, labels, [1])).toThrow(/masked_softmax_ce_loss/);
    });
  });
});
