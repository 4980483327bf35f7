/**
 * How GPU faults reach the caller. WebGPU reports errors asynchronously (error scopes, the `uncapturederror`
 * event), so the engine keeps one set of scopes open over everything it records between two submits and raises what
 * they caught at the next readback or `sync()`, as a {@link GpuError} with the GPU's own message: the first error
 * comes first, so an invalid bind group is not blamed on the submit (or the later op) that merely used it.
 *
 * Device-side checks (labels and indices that live only on the GPU) write into an engine-owned flag buffer, read
 * back together with every readback, so validating them never adds a wait (src/runtime/device_checks.ts).
 */
import { GpuError, type GpuErrorKind } from './errors.js';

/** WebGPU's filters, innermost scope first (the order `popErrorScope` returns them). */
const FILTERS = ['validation', 'out-of-memory', 'internal'] as const;

function kindOf(e: GPUError): GpuErrorKind {
  const name = e.constructor?.name ?? '';
  if (/OutOfMemory/i.test(name)) return 'out-of-memory';
  if (/Internal/i.test(name)) return 'internal';
  return 'validation';
}

/** Kernel names for a message: the first few distinct ones, then a count. */
function summarise(kernels: string[]): string {
  const distinct = [...new Set(kernels)];
  const shown = distinct.slice(0, 6).join(', ');
  return distinct.length > 6 ? `${shown} and ${distinct.length - 6} more` : shown;
}

export class GpuErrorScopes {
  private open = false;
  private kernels: string[] = [];
  private pending: Promise<GpuError | null>[] = [];
  private uncaptured: GpuError[] = [];

  constructor(private readonly device: GPUDevice) {
    // Errors outside the engine's scopes (the caller's own WebGPU calls, a shader module compiled by compileAll)
    // would otherwise only reach the console.
    device.addEventListener?.('uncapturederror', (event) => {
      const e = (event as GPUUncapturedErrorEvent).error;
      event.preventDefault?.();
      this.uncaptured.push(new GpuError(kindOf(e), e.message, 'outside any engine call'));
    });
  }

  /** Opens the scopes unless open; every device call the engine makes from now on is caught by them. */
  enter(kernel?: string): void {
    if (!this.open) {
      for (const f of [...FILTERS].reverse()) this.device.pushErrorScope(f);
      this.open = true;
    }
    if (kernel && this.kernels.length < 4096) this.kernels.push(kernel);
  }

  /** Closes the scopes (a no-op when none is open); `what` says what the engine did under them. */
  close(what: string): void {
    if (!this.open) return;
    this.open = false;
    const kernels = this.kernels;
    this.kernels = [];
    // The scope spans every device call since it opened, the caller's own included: the GPU's message names the
    // failing call and object; this only says which stretch of work it came from.
    const context = kernels.length
      ? `${what} (the device calls since the previous submit, recording ${kernels.length} ` +
        `dispatch${kernels.length > 1 ? 'es' : ''} of ` +
        `${summarise(kernels)})`
      : what;
    const pops = FILTERS.map(() => this.device.popErrorScope());
    this.pending.push(
      Promise.all(pops).then(
        (errors) => {
          const e = errors.find((x): x is GPUError => x !== null);
          return e ? new GpuError(kindOf(e), e.message, context) : null;
        },
        // The scope stack was unbalanced by other code, or the device is gone: say so rather than hide it.
        (e: unknown) => new GpuError('internal', `popErrorScope failed: ${String(e)}`, context),
      ),
    );
  }

  /** Runs `fn` (direct device calls) under scopes of its own, closed right after. */
  around<T>(what: string, fn: () => T): T {
    this.close('in the device calls since the previous submit');
    this.enter();
    try {
      return fn();
    } finally {
      this.close(what);
    }
  }

  /** Whether errors may be waiting: closed scopes not yet checked, or uncaptured errors. */
  get waiting(): boolean {
    return this.pending.length > 0 || this.uncaptured.length > 0;
  }

  /**
   * Settles every closed scope; returns the first error caught (later ones appended to its message, as they are
   * usually consequences of it), or null. Each error is reported once.
   */
  async take(): Promise<GpuError | null> {
    const pending = this.pending;
    this.pending = [];
    const errors = [...this.uncaptured, ...(await Promise.all(pending)).filter((e) => e !== null)];
    this.uncaptured = [];
    if (errors.length === 0) return null;
    if (errors.length === 1) return errors[0];
    const [first, ...rest] = errors;
    const later = rest
      .map(
        (r) => `${r.kind} ${r.context}: ${r.gpuMessage.trim().split('\n')[0] || '(the GPU gave no message)'}`,
      )
      .join('\n  ');
    return new GpuError(
      first.kind,
      `${first.gpuMessage.trim() || '(the GPU gave no message)'}\n(then ${rest.length} later error${rest.length > 1 ? 's' : ''}, usually ` +
        `consequences of the first:\n  ${later})`,
      first.context,
    );
  }
}
