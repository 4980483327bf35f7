/**
 * What every optimizer shares (`torch.optim.Optimizer`): the parameters, the step counter, lazily allocated
 * per-parameter state that the optimizer owns, `zeroGrad` and the zero-copy swap of an update's results.
 */
import { fill } from '../ops/elementwise.js';
import type { Tensor } from '../runtime/tensor.js';

/** What {@link Optimizer.stateDict} returns and {@link Optimizer.loadStateDict} takes. */
export interface OptimizerState {
  /** t, the steps taken. */
  step: number;
  /** `<parameter index>.<state name>` → float32 values of the parameter's shape. */
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
}

export abstract class Optimizer {
  /** Steps taken so far (t), one counter for the whole optimizer; the first `step()` is t = 1. */
  stepCount = 0;
  private readonly state = new Map<Tensor, Tensor[]>();
  /** PyTorch's names of the per-parameter state tensors, in `stateOf`'s order. */
  protected abstract readonly stateNames: readonly string[];

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

  /**
   * The optimizer's state, as PyTorch's `optimizer.state_dict()['state']` keys it: for each parameter (by its index
   * in `params`) that has state, its tensors named `<index>.<name>` with PyTorch's names (`exp_avg`, `exp_avg_sq`
   * for Adam; `momentum_buffer` for SGD), read back from the device; and the step count t.
   * @returns float32 values of each state tensor's shape, the parameter's.
   */
  async stateDict(): Promise<OptimizerState> {
    const tensors: OptimizerState['tensors'] = {};
    for (const [i, p] of this.params.entries()) {
      const s = this.state.get(p);
      if (s)
        for (const [j, t] of s.entries())
          tensors[`${i}.${this.stateNames[j]}`] = {
            shape: [...t.shape],
            data: Float32Array.from(await t.data()),
          };
    }
    return { step: this.stepCount, tensors };
  }

  /**
   * Replaces the state with one from {@link Optimizer.stateDict} (of an optimizer of the same kind over parameters
   * of the same shapes, e.g. a checkpoint's), uploading its tensors. Parameters it has no entry for start afresh.
   * @throws RangeError for a step that is not a non-negative integer, an entry whose index or name this optimizer
   *   does not have, a parameter with only part of its tensors, or a shape that is not the parameter's; the state
   *   is unchanged then.
   */
  loadStateDict({ step, tensors }: OptimizerState): void {
    const name = this.constructor.name;
    if (!Number.isSafeInteger(step) || step < 0)
      throw new RangeError(`${name}.loadStateDict: step must be a non-negative integer, got ${step}`);
    const byParam = new Map<number, Map<string, { shape: number[]; data: Float32Array }>>();
    for (const [key, value] of Object.entries(tensors)) {
      const m = /^(\d+)\.(\w+)$/.exec(key);
      const i = m ? Number(m[1]) : -1;
      if (!m || i >= this.params.length || !this.stateNames.includes(m[2]))
        throw new RangeError(
          `${name}.loadStateDict: unknown entry "${key}" (expects <index>.<${this.stateNames.join('|')}> for ` +
            `${this.params.length} parameters)`,
        );
      const want = this.params[i].shape;
      if (value.shape.join() !== want.join() || value.data.length !== value.shape.reduce((a, b) => a * b, 1))
        throw new RangeError(
          `${name}.loadStateDict: "${key}" has shape (${value.shape.join(', ')}), parameter ${i} (${want.join(', ')})`,
        );
      if (!byParam.has(i)) byParam.set(i, new Map());
      byParam.get(i)!.set(m[2], value);
    }
    for (const [i, entries] of byParam)
      if (entries.size !== this.stateNames.length)
        throw new RangeError(
          `${name}.loadStateDict: parameter ${i} has ${[...entries.keys()].join(', ')}, needs ${this.stateNames.join(', ')}`,
        );
    this.dispose();
    for (const [i, entries] of byParam) {
      const p = this.params[i];
      this.state.set(
        p,
        this.stateNames.map((n) => p.engine.fromArray(entries.get(n)!.data, p.shape).keep()),
      );
    }
    this.stepCount = step;
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
