/**
 * Reverse-mode autograd over the tape that `apply` records (micrograd's topological sort, on tensors). It sits
 * with the ops, above the runtime's tape, because summing and seeding gradients are ops (`addN`, `fill`).
 */
import { AutogradError } from '../runtime/errors.js';
import { Tensor, formatShape } from '../runtime/tensor.js';
import { addN } from './add_n.js';
import { fill } from './elementwise.js';

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: a long sequence model's tape is deeper than the JS call stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const i of t.creator?.inputs ?? []) if (i.requiresGrad && !seen.has(i)) stack.push([i, false]);
  }
  return order;
}

export interface BackwardOptions {
  /**
   * Keep the graph usable for another `backward()` through it (PyTorch's `retain_graph=True`). Default false: a
   * second `backward()` through any node of this graph throws, as in PyTorch, instead of silently accumulating.
   */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into `.grad` of every leaf with `requiresGrad`, like `loss.backward()`.
 * `dy` defaults to ones (so a scalar loss needs none). Intermediate gradients are disposed on the way.
 * `backward(y, options)` and `backward(y, dy, options)` both work.
 * @param root the output y, any shape, float32, requiring grad.
 * @param dy dL/dy: float32 of y's exact shape (PyTorch's `gradient` argument; a same-size tensor of another shape
 *   is rejected too, as PyTorch does).
 * @throws Error when `root` does not require grad; {@link AutogradError} when `dy` is not float32 of y's shape, or
 *   when the graph was already back-propagated by a call without `retainGraph: true` (PyTorch: "Trying to backward
 *   through the graph a second time"). These checks run before any gradient is accumulated.
 */
export function backward(root: Tensor, dy?: Tensor | BackwardOptions, options: BackwardOptions = {}): void {
  if (dy !== undefined && !(dy instanceof Tensor)) {
    options = dy;
    dy = undefined;
  }
  if (!root.requiresGrad)
    throw new Error(`backward: ${root} does not require grad (nothing to differentiate)`);
  if (
    dy &&
    (dy.dtype !== 'float32' ||
      dy.shape.length !== root.shape.length ||
      dy.shape.some((d, i) => d !== root.shape[i]))
  )
    throw new AutogradError(
      `backward: dy ${formatShape(dy.shape)} ${dy.dtype} must be float32 of the output's shape ` +
        `${formatShape(root.shape)} (reshape it first if only the layout differs)`,
    );
  if (dy?.disposed) throw new AutogradError(`backward: dy ${dy} was disposed`);
  const order = topoOrder(root);
  const consumed = order.find((t) => t.creator?.consumed);
  if (consumed)
    throw new AutogradError(
      `backward: trying to backward through the graph a second time: ${consumed} (made by ` +
        `${consumed.creator!.op}) was already back-propagated. Pass { retainGraph: true } to the first ` +
        "backward() to go through the graph again (PyTorch's retain_graph), or recompute the forward pass.",
    );
  const engine = root.engine;
  engine.noGrad(() =>
    // Every intermediate gradient is created inside this scope and freed when it closes;
    // only the leaves' accumulated `.grad` tensors are kept.
    engine.tidy(() => {
      // Each tensor's gradient contributions, summed in one addN when the tensor is reached: by then every
      // consumer has been processed (reverse topological order), and a weight used at T time steps costs
      // ⌈(T − 1)/6⌉ launches instead of T − 1 adds.
      const grads = new Map<Tensor, Tensor[]>();
      grads.set(root, [(dy as Tensor | undefined) ?? fill(root.shape, 1, engine)]);
      for (let n = order.length - 1; n >= 0; n--) {
        const t = order[n];
        const parts = grads.get(t);
        if (!parts) continue;
        if (!t.creator) {
          const old = t.grad;
          // share(): a new handle, so leaves that got the same gradient tensor each own one.
          t.grad = (
            old || parts.length > 1 ? addN(old ? [old, ...parts] : parts) : parts[0].share(t.shape)
          ).keep();
          old?.dispose();
          continue;
        }
        const g = addN(parts);
        const inputGrads = t.creator.backward(g);
        t.creator.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!gi || !input.requiresGrad) return;
          if (gi.numel() !== input.numel())
            throw new Error(
              `backward of ${t.creator!.op}: gradient ${formatShape(gi.shape)} for input ${formatShape(input.shape)}`,
            );
          const shaped = gi.shape.length === input.shape.length ? gi : gi.share(input.shape);
          const prev = grads.get(input);
          if (prev) prev.push(shaped);
          else grads.set(input, [shaped]);
        });
      }
    }),
  );
  if (!options.retainGraph) for (const t of order) if (t.creator) t.creator.consumed = true;
}
