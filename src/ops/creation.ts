/** Tensor factories on the current engine (`torch.tensor`, `torch.zeros`, …). */
import { engine } from '../runtime/global.js';
import { numel, type DType, type Tensor } from '../runtime/tensor.js';

export interface TensorOptions {
  /** Default: the shape of a nested array, or 1-D for a flat one. */
  shape?: readonly number[];
  dtype?: DType;
  requiresGrad?: boolean;
}

function shapeOf(v: unknown): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : [];
}

/**
 * A tensor from (nested) numbers, like `torch.tensor`: `tensor([[1, 2], [3, 4]])` is (2, 2) float32.
 * @throws Error when the values do not fill the shape (ragged nesting or a wrong `shape`).
 */
export function tensor(values: number | ArrayLike<number> | unknown[], options: TensorOptions = {}): Tensor {
  const nested = Array.isArray(values) && Array.isArray(values[0]);
  const shape =
    options.shape ??
    (typeof values === 'number' ? [] : nested ? shapeOf(values) : [(values as ArrayLike<number>).length]);
  const flat =
    typeof values === 'number'
      ? [values]
      : nested
        ? (values as unknown[]).flat(Infinity as 1)
        : (values as ArrayLike<number>);
  if ((flat as ArrayLike<number>).length !== numel(shape))
    throw new Error(
      `tensor: ${(flat as ArrayLike<number>).length} values do not fill shape (${shape.join(', ')})`,
    );
  const t = engine().fromArray(flat as ArrayLike<number>, shape, options.dtype ?? 'float32');
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}
