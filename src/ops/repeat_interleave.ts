/**
 * `torch.repeat_interleave(x, repeats, dim=0)`: each slice along dim 0 repeated in a row, the way d2l §11.5 hands
 * one valid length per head to the batched attention (`repeat_interleave(valid_lens, repeats=num_heads, dim=0)`).
 * One copy kernel on u32 bits (shaders/repeat_interleave.wgsl), so int32 and float32 tensors alike.
 */
import { OpError, apply, type OpDef, type TensorMeta } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

export interface RepeatInterleaveAttrs {
  /** r ≥ 1: how many copies of each slice. */
  repeats: number;
}

/** The plan: x as (N, inner), y with `count` elements. */
interface Plan {
  n: number;
  inner: number;
  count: number;
}

function outShape(x: TensorMeta, { repeats }: RepeatInterleaveAttrs): number[] {
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new OpError('repeat_interleave', `repeats must be an integer >= 1, got ${repeats}`, [x.shape]);
  if (x.shape.length === 0) throw new OpError('repeat_interleave', 'x needs rank >= 1', [x.shape]);
  return [x.shape[0] * repeats, ...x.shape.slice(1)];
}

export const repeatInterleaveOp: OpDef<RepeatInterleaveAttrs, Plan> = {
  name: 'repeat_interleave',
  shape([x], attrs) {
    const shape = outShape(x, attrs);
    return {
      outputs: [{ shape, dtype: x.dtype }],
      plan: { n: x.shape[0], inner: numel(x.shape.slice(1)), count: numel(shape) },
    };
  },
  gpu(engine, [x], [y], { repeats }, { inner, count }) {
    if (count === 0) return;
    engine.dispatch('repeat_interleave', {
      bindings: { x, y },
      params: { count, inner, r: repeats },
      threads: count,
    });
  },
  cpu([x], { repeats }, { n: rows, inner, count }) {
    const y = new Float64Array(count);
    for (let n = 0; n < rows; n++)
      for (let j = 0; j < repeats; j++)
        for (let e = 0; e < inner; e++) y[(n * repeats + j) * inner + e] = x.data[n * inner + e];
    return [y];
  },
  // Only integer valid lengths go through it in this library; they take no gradient.
  backward: null,
  cases: [
    { name: 'lens (B)', inputs: [{ shape: [2], dtype: 'int32', fill: { int: 7 } }], attrs: { repeats: 5 } },
    {
      name: 'lens (B, L)',
      inputs: [{ shape: [3, 4], dtype: 'int32', fill: { int: 9 } }],
      attrs: { repeats: 2 },
    },
    { inputs: [{ shape: [1], dtype: 'int32', fill: { values: [-3] } }], attrs: { repeats: 1 } },
    { inputs: [{ shape: [7, 1, 3], dtype: 'int32', fill: { int: 1000 } }], attrs: { repeats: 3 } },
    { name: 'float32 bits', inputs: [{ shape: [5, 13] }], attrs: { repeats: 7 } },
    { name: 'fold past 65535 groups', inputs: [{ shape: [3, 700_001] }], attrs: { repeats: 2 } },
  ],
};

/**
 * Repeats every slice along dim 0 `repeats` times in a row: `torch.repeat_interleave(x, repeats, dim=0)`, e.g.
 * validLens (B) → (B·H) or (B, L) → (B·H, L) so that row b·H + h of the head-split batch gets item b's lengths.
 * @param x int32 or float32, shape (N, …).
 * @param repeats r, an integer ≥ 1.
 * @returns (N·r, …), x's dtype. No gradient is recorded (the op serves integer lengths).
 * @throws OpError naming `repeat_interleave` when x is a scalar or repeats is not an integer ≥ 1.
 */
export function repeatInterleave(x: Tensor, repeats: number): Tensor {
  return apply(repeatInterleaveOp, [x], { repeats })[0];
}
