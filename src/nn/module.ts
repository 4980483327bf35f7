/**
 * `Module`, as `torch.nn.Module`: owns parameters and sub-modules, switches train/eval, frees its memory.
 */
import { engine } from '../runtime/global.js';
import type { Tensor } from '../runtime/tensor.js';

export abstract class Module {
  /** Training mode (true) uses batch statistics and dropout; eval mode (false) does not. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable tensor: it requires grad and is owned by the module, outside any `tidy`. */
  protected addParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.set(name, t.keep());
    return t;
  }

  /** Registers state that is saved but not trained (running statistics), like `register_buffer`. */
  protected addBuffer(name: string, t: Tensor): Tensor {
    this.params.set(name, t.keep());
    return t;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** `(name, tensor)` for every parameter and buffer, with PyTorch's `state_dict` dotted names. */
  namedTensors(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedTensors(`${prefix}${n}.`));
    return out;
  }

  /** The trainable tensors (those with `requiresGrad`), depth first, as `module.parameters()`. */
  parameters(): Tensor[] {
    return this.namedTensors()
      .map(([, t]) => t)
      .filter((t) => t.requiresGrad);
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Loads values by `state_dict` name (flat row-major arrays, e.g. from PyTorch), replacing each tensor's
   * contents in place. Extra keys are ignored (PyTorch's `num_batches_tracked`, say).
   * @throws Error naming the key when one is missing or has the wrong number of values; nothing is loaded then.
   */
  loadStateDict(values: Record<string, ArrayLike<number>>): void {
    const named = this.namedTensors();
    // Every entry is checked before any is loaded, so a bad state dict leaves the module as it was.
    for (const [name, t] of named) {
      const v = Object.hasOwn(values, name) ? values[name] : undefined;
      if (!v) throw new Error(`loadStateDict: missing "${name}"`);
      if (v.length !== t.numel())
        throw new Error(
          `loadStateDict: "${name}" has ${v.length} values, the tensor (${t.shape.join(', ')}) ${t.numel()}`,
        );
    }
    for (const [name, t] of named) {
      const loaded = t.engine.fromArray(values[name], t.shape, t.dtype);
      t.assign(loaded);
      loaded.dispose();
    }
  }

  /**
   * Frees this module's parameters and buffers and disposes every sub-module through its own `dispose`
   * (so state a module keeps outside its parameters, such as cached tables, is freed too). Idempotent.
   */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const m of this.children.values()) m.dispose();
  }

  /** The module's computation; signatures differ (a GRU returns [output, state]), as in PyTorch. */
  abstract forward(...inputs: never[]): unknown;
}

/** Uploads `values` as a tensor on the current engine. */
export function fromValues(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return engine().fromArray(values, shape);
}
