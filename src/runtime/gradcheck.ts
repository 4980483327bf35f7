/**
 * Numerical gradients of an op from its float64 CPU reference, the check `torch.autograd.gradcheck` makes: the
 * test suite and the demo page compare every backward kernel against it.
 */
import { runReference, type CpuTensor, type OpDef } from './op.js';

/**
 * d(Σ out₀·dy)/d(input k) by central differences of the op's CPU reference in float64, step `h`: one pair of
 * reference evaluations per element of input k.
 */
export function finiteDifference<A, P>(
  def: OpDef<A, P>,
  inputs: CpuTensor[],
  attrs: A,
  dy: ArrayLike<number>,
  k: number,
  h = 1e-6,
): Float64Array {
  const base = Float64Array.from(inputs[k].data);
  const grad = new Float64Array(base.length);
  const objective = (data: Float64Array) => {
    const args = inputs.map((t, i) => (i === k ? { ...t, data } : t));
    const out = runReference(def, args, attrs)[0];
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * dy[i];
    return s;
  };
  for (let j = 0; j < base.length; j++) {
    const p = Float64Array.from(base);
    p[j] += h;
    const m = Float64Array.from(base);
    m[j] -= h;
    grad[j] = (objective(p) - objective(m)) / (2 * h);
  }
  return grad;
}
