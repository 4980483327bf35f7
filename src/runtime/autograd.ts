/**
 * Reverse-mode autograd over the tape that `apply` records (micrograd's topological sort, on tensors).
 */
import { addN } from '../ops/add_n.js';
import { fill } from '../ops/elementwise.js';
import { Tensor, formatShape } from './tensor.js';

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

/**
 * Accumulates d(root)/d(leaf) into `.grad` of every leaf with `requiresGrad`, like `loss.backward()`.
 * `dy` defaults to ones (so a scalar loss needs none). Intermediate gradients are disposed on the way.
 * @throws Error when `root` does not require grad or `dy` has the wrong shape.
 */
export function backward(root: Tensor, dy?: Tensor): void {
  if (!root.requiresGrad)
    throw new Error(`backward: ${root} does not require grad (nothing to differentiate)`);
  if (dy && dy.size !== root.size)
    throw new Error(
      `backward: gradient shape ${formatShape(dy.shape)} does not match ${formatShape(root.shape)}`,
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
      grads.set(root, [dy ?? fill(root.shape, 1, engine)]);
      const order = topoOrder(root);
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
          if (gi.size !== input.size)
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
}
