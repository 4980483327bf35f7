/**
 * Squared L2 norms of many tensors at once, `[‖x_0‖², …, ‖x_{P−1}‖²]`: the first step of
 * `torch.nn.utils.clip_grad_norm_` (d2l §9.5), in ⌈P/7⌉ dispatches of shaders/sum_squares.wgsl instead of the
 * 3·P of square → sum → add per tensor. Seven tensors per dispatch keep it within 8 storage bindings, the
 * WebGPU default limit.
 */
import { OpError, apply, type OpDef } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

/** Tensors one dispatch reads. */
const PER_DISPATCH = 7;

/** The plan: the element count of each x. */
export const sumSquaresOp: OpDef<Record<string, never>, { sizes: number[] }> = {
  name: 'sum_squares',
  shape(inputs) {
    if (inputs.length === 0) throw new OpError('sum_squares', 'needs at least one tensor', []);
    if (inputs.some((x) => x.dtype !== 'float32'))
      throw new OpError(
        'sum_squares',
        'every tensor must be float32',
        inputs.map((x) => x.shape),
      );
    return { outputs: [{ shape: [inputs.length] }], plan: { sizes: inputs.map((x) => numel(x.shape)) } };
  },
  gpu(engine, xs, [y], _attrs, { sizes }) {
    for (let offset = 0; offset < xs.length; offset += PER_DISPATCH) {
      const chunk = xs.slice(offset, offset + PER_DISPATCH);
      const bindings: Record<string, Tensor | null> = { y };
      const params: Record<string, number> = { offset };
      for (let t = 0; t < PER_DISPATCH; t++) {
        bindings[`x${t}`] = chunk[t] ?? null;
        params[`n${t}`] = sizes[offset + t] ?? 0;
      }
      engine.dispatch('sum_squares', { bindings, params, groups: chunk.length });
    }
  },
  cpu(xs, _attrs, { sizes }) {
    return [
      Float64Array.from(xs, (x, t) => {
        let acc = 0;
        for (let i = 0; i < sizes[t]; i++) acc += x.data[i] * x.data[i];
        return acc;
      }),
    ];
  },
  // Only clipGradNorm uses it, under noGrad: no gradient is needed.
  backward: null,
  cases: [
    { inputs: [{ shape: [1] }], attrs: {} },
    { inputs: [{ shape: [3] }, { shape: [2, 5] }, { shape: [0] }], attrs: {} },
    {
      name: '16 tensors: three dispatches, the last one partly filled',
      inputs: Array.from({ length: 16 }, (_, i) => ({ shape: i % 5 === 0 ? [300, 7] : [i + 1] })),
      attrs: {},
    },
  ],
};

/**
 * `[Σ x_0², …, Σ x_{P−1}²]`, one squared L2 norm per tensor (any shapes).
 * @param xs P ≥ 1 float32 tensors of any shapes, on one engine.
 * @returns (P) float32. No gradient flows through it.
 * @throws OpError naming `sum_squares` when `xs` is empty or a tensor is not float32.
 */
export function sumSquares(xs: Tensor[]): Tensor {
  return apply(sumSquaresOp, xs, {})[0];
}
