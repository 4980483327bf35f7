/**
 * Many tensors times one device-side scalar, `[c·x_0, …, c·x_{k−1}]` (the last step of
 * `torch.nn.utils.clip_grad_norm_`, d2l §9.5): three tensors per launch of shaders/scale_all.wgsl instead of one
 * broadcast multiply each. Three inputs, their three outputs and c fill 7 of the 8 storage bindings WebGPU
 * guarantees.
 */
import { OpError, apply, type OpDef } from '../runtime/op.js';
import { numel, type Tensor } from '../runtime/tensor.js';

const PER_DISPATCH = 3;

/** One launch: inputs x_0 … x_{k−1} (k ≤ 3) then c, a one-element tensor. */
/** The plan: the element count of each x. */
export const scaleAllOp: OpDef<Record<string, never>, { sizes: number[] }> = {
  name: 'scale_all',
  shape(inputs) {
    const shapes = inputs.map((x) => x.shape);
    const xs = inputs.slice(0, -1);
    const c = inputs.at(-1);
    if (xs.length === 0 || xs.length > PER_DISPATCH)
      throw new OpError('scale_all', `one launch scales 1 to ${PER_DISPATCH} tensors, then c`, shapes);
    if (!c || c.shape.reduce((a, b) => a * b, 1) !== 1)
      throw new OpError('scale_all', 'the last input, c, must hold one element', shapes);
    if (inputs.some((x) => x.dtype !== 'float32'))
      throw new OpError('scale_all', 'needs float32 tensors', shapes);
    return { outputs: xs.map((x) => ({ shape: x.shape })), plan: { sizes: xs.map((x) => numel(x.shape)) } };
  },
  gpu(engine, inputs, ys, _attrs, { sizes }) {
    const xs = inputs.slice(0, -1);
    // Unused slots (n = 0) are left unbound: the engine binds dummies.
    const bindings: Record<string, Tensor | null> = { c: inputs.at(-1)! };
    const params: Record<string, number> = {};
    for (let t = 0; t < PER_DISPATCH; t++) {
      bindings[`x${t}`] = xs[t] ?? null;
      bindings[`y${t}`] = ys[t] ?? null;
      params[`n${t}`] = sizes[t] ?? 0;
    }
    engine.dispatch('scale_all', { bindings, params, threads: Math.max(...sizes) });
  },
  cpu(inputs) {
    const s = inputs.at(-1)!.data[0];
    return inputs.slice(0, -1).map((x) => Float64Array.from(x.data, (v) => s * v));
  },
  // Only clipGradNorm uses it, under noGrad: no gradient is needed.
  backward: null,
  cases: [
    { inputs: [{ shape: [3] }, { shape: [] }], attrs: {} },
    { inputs: [{ shape: [2, 5] }, { shape: [1] }, { shape: [1] }], attrs: {} },
    { inputs: [{ shape: [130, 3] }, { shape: [0] }, { shape: [7] }, { shape: [] }], attrs: {} },
  ],
};

/**
 * c·x for every x in xs, c a one-element tensor on the device.
 * @param xs float32 tensors of any shapes.
 * @param c () or (1) float32.
 * @returns one tensor per x, its shape.
 * @throws OpError naming `scale_all` and the shapes when c has more than one element or a tensor is not float32.
 */
export function scaleAll(xs: Tensor[], c: Tensor): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; i < xs.length; i += PER_DISPATCH)
    out.push(...apply(scaleAllOp, [...xs.slice(i, i + PER_DISPATCH), c], {}));
  return out;
}
