/**
 * The sum of a list of equal-shaped tensors (`torch.stack(xs).sum(0)`, TF's `tf.addN`) in ⌈(k − 1)/6⌉ launches of
 * shaders/add_n.wgsl rather than k − 1 binary adds. Autograd sums a tensor's gradient contributions with it: a
 * recurrent model's weights get one per time step. Seven tensors per launch keep within 8 storage bindings.
 */
import { OpError, apply, type OpDef } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

const PER_DISPATCH = 7;

/** One launch: at most 7 tensors. `addN` chains launches for more. */
export const addNOp: OpDef<Record<string, never>, { n: number }> = {
  name: 'add_n',
  shape(inputs) {
    const shapes = inputs.map((x) => x.shape);
    if (inputs.length === 0 || inputs.length > PER_DISPATCH)
      throw new OpError(
        'add_n',
        `one launch sums 1 to ${PER_DISPATCH} tensors, got ${inputs.length}`,
        shapes,
      );
    if (inputs.some((x) => x.dtype !== 'float32' || x.shape.join() !== inputs[0].shape.join()))
      throw new OpError('add_n', 'needs float32 tensors of one shape', shapes);
    return { outputs: [{ shape: inputs[0].shape }], plan: { n: numel(inputs[0].shape) } };
  },
  gpu(engine, xs, [y], _attrs, { n }) {
    const bindings: Record<string, Tensor | null> = { y };
    for (let t = 0; t < PER_DISPATCH; t++) bindings[`x${t}`] = xs[t] ?? null;
    engine.dispatch('add_n', {
      bindings,
      params: { n, k: xs.length },
      threads: n,
    });
  },
  cpu(xs, _attrs, { n }) {
    const y = new Float64Array(n);
    for (const x of xs) for (let i = 0; i < y.length; i++) y[i] += x.data[i];
    return [y];
  },
  backward: ({ inputs, dy }) => inputs.map(() => dy),
  cases: [
    { inputs: [{ shape: [3] }], attrs: {} },
    { inputs: [{ shape: [2, 5] }, { shape: [2, 5] }], attrs: {} },
    { inputs: Array.from({ length: 7 }, () => ({ shape: [3, 1, 13] })), attrs: {} },
    // Past 65535 · 64 elements: the dispatch folds into a 2-D grid.
    {
      inputs: [{ shape: [4_200_001] }, { shape: [4_200_001] }, { shape: [4_200_001] }],
      attrs: {},
      noGradCheck: true,
    },
  ],
};

/**
 * Σ xs, elementwise.
 * @param xs one or more float32 tensors of one shape.
 * @returns that shape; xs[0] itself for a single tensor.
 * @throws OpError naming `add_n` and every shape when xs is empty or the shapes or dtypes differ.
 */
export function addN(xs: Tensor[]): Tensor {
  if (xs.length === 0) throw new OpError('add_n', 'needs at least one tensor', []);
  let acc = xs.length === 1 ? xs[0] : null;
  for (let i = 0; i < xs.length && xs.length > 1;) {
    const take = acc ? PER_DISPATCH - 1 : PER_DISPATCH;
    const chunk = xs.slice(i, i + take);
    acc = apply(addNOp, acc ? [acc, ...chunk] : chunk, {})[0];
    i += take;
  }
  return acc!;
}
