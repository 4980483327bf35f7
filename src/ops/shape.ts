/** Views that change the shape without moving data (they share storage with their input). */
import { OpError } from '../runtime/op.js';
import { Tensor, numel } from '../runtime/tensor.js';

/**
 * `x.reshape(shape)` (one dim may be -1): a view sharing x's storage; its gradient is reshaped back.
 * @throws OpError when the element counts differ.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = numel(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? x.numel() / Math.max(known, 1) : d));
  if (numel(out) !== x.numel() || out.some((d) => !Number.isInteger(d) || d < 0))
    throw new OpError('reshape', `cannot view ${x.numel()} elements as (${shape.join(', ')})`, [x.shape]);
  if (out.join() === x.shape.join()) return x;
  const y = x.share(out);
  if (x.requiresGrad && x.engine.gradEnabled) {
    y.requiresGrad = true;
    y.creator = { op: 'reshape', inputs: [x], backward: (dy) => [dy.share(x.shape)] };
  }
  return y;
}
