/**
 * What every optimizer shares (`torch.optim.Optimizer`): the parameters, the step counter, lazily allocated
 * per-parameter state that the optimizer owns, `zeroGrad` and the zero-copy swap of an update's results.
 */
import { fill } from '../ops/elementwise.js';
import type { Tensor } from '../runtime/tensor.js';

export abstract class Optimizer {
  /** Steps taken so far (t), one counter for the whole optimizer; the first `step()` is t = 1. */
  stepCount = 0;
  private readonly state = new Map<Tensor, Tensor[]>();

  constructor(readonly params: Tensor[]) {}

  /** The update of one parameter from its gradient; runs without autograd. */
  protected abstract update(p: Tensor, g: Tensor): void;

  /** Updates every parameter that has a gradient (those whose `.grad` is null are skipped, as in PyTorch). */
  step(): void {
    this.stepCount++;
    for (const p of this.params) {
      const g = p.grad;
      if (g) p.engine.noGrad(() => this.update(p, g));
    }
  }

  /** Frees every parameter's gradient and sets it to null, like `zero_grad(set_to_none=True)`. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees the optimizer state (momentum buffers, moments); the parameters stay. */
  dispose(): void {
    for (const tensors of this.state.values()) for (const t of tensors) t.dispose();
    this.state.clear();
  }

  /** `count` state tensors of p's shape, zeros on first use; kept out of `tidy` scopes since they outlive a step. */
  protected stateOf(p: Tensor, count: number): Tensor[] {
    let s = this.state.get(p);
    if (!s) {
      s = Array.from({ length: count }, () => fill(p.shape, 0, p.engine).keep());
      this.state.set(p, s);
    }
    return s;
  }

  /** Moves each result into its target without a copy (`assign` shares the storage) and drops the result handle. */
  protected swap(targets: Tensor[], results: Tensor[]): void {
    targets.forEach((t, i) => {
      t.assign(results[i]);
      results[i].dispose();
    });
  }
}

/** @throws RangeError naming the optimizer and the option, as PyTorch's "Invalid learning rate" checks. */
export function checkRange(opt: string, name: string, value: number, ok: boolean): void {
  if (!ok || !Number.isFinite(value)) throw new RangeError(`${opt}: invalid ${name}: ${value}`);
}
