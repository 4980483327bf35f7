/**
 * `tidy` scopes (in the spirit of `tf.tidy`): a stack of sets of the tensors created inside each scope, disposed
 * when it closes except those the scope's function returns, which move to the enclosing scope.
 */
import { Tensor } from './tensor.js';

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

export class Scopes {
  private readonly stack: Set<Tensor>[] = [];

  /** Puts a new tensor into the innermost scope, if any. */
  add(t: Tensor): void {
    this.stack.at(-1)?.add(t);
  }

  /** Takes a tensor out of every scope (it was disposed or kept). */
  remove(t: Tensor): void {
    for (const s of this.stack) s.delete(t);
  }

  /** See {@link Engine.tidy}. @throws TypeError when `fn` returns a promise. */
  tidy<T>(fn: () => T): T {
    const scope = this.open();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.close(scope, undefined);
      throw e;
    }
    if (isThenable(result)) {
      // The scope cannot wait for it: its tensors are freed now, so the rest of fn fails; keep that quiet.
      void Promise.resolve(result).catch(() => {});
      this.close(scope, undefined);
      throw new TypeError(
        'engine.tidy: the function returned a Promise (an async function?), and tidy cannot wait for it: its ' +
          'tensors were freed when it returned. Use `await engine.tidyAsync(async () => …)` for a scope that ' +
          'awaits, or keep tidy synchronous and read results back after it.',
      );
    }
    this.close(scope, result);
    return result;
  }

  /** See {@link Engine.tidyAsync}. */
  async tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
    const scope = this.open();
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      this.close(scope, undefined);
      throw e;
    }
    this.close(scope, result);
    return result;
  }

  private open(): Set<Tensor> {
    const scope = new Set<Tensor>();
    this.stack.push(scope);
    return scope;
  }

  /** Removes `scope` and disposes its tensors except those in `result`, which move to the enclosing scope. */
  private close(scope: Set<Tensor>, result: unknown): void {
    this.stack.splice(this.stack.lastIndexOf(scope), 1);
    const keep = new Set<Tensor>();
    const collect = (v: unknown): void => {
      if (v instanceof Tensor) keep.add(v);
      else if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
        Object.values(v).forEach(collect);
    };
    collect(result);
    for (const t of scope) if (!keep.has(t)) t.dispose();
    for (const t of keep) if (!t.disposed) this.stack.at(-1)?.add(t);
  }
}
