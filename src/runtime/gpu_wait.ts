/**
 * Waiting for a GPU promise without taking a core from a CPU-emulated GPU. Dawn's Node binding (the `webgpu`
 * package) completes its promises by calling `globalThis.setImmediate` again and again while one is pending (its
 * AsyncRunner), so the JavaScript thread spins at 100% of a core for as long as the GPU works. On lavapipe the GPU
 * *is* the CPU: on a 2-core machine that spin halves the cores the kernels run on (matmul 2048² measured 12 GFLOP/s
 * spinning, 20 GFLOP/s with this wait). While a {@link awaitGpu} is pending, setImmediate is spaced out: the first
 * {@link SPIN_MS} of the wait still poll at once, so short waits return as fast as before, then each poll waits
 * {@link POLL_MS} on a timer, which hands the core back. Browsers have no setImmediate: there this is a plain await.
 */

/** How long a wait polls as fast as Dawn does before backing off (ms). */
export const SPIN_MS = 0.5;
/** The timer between two polls after that (ms; Node's timers have 1 ms resolution). */
export const POLL_MS = 1;

type Immediate = (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
type ClearImmediate = (handle: unknown) => void;

interface Patched {
  setImmediate: Immediate;
  clearImmediate: ClearImmediate;
}

let pending = 0;
/** When the oldest pending wait began (performance.now()). */
let since = 0;
let original: Patched | null = null;
/** The timers that stand in for immediates, so that clearImmediate can cancel them. */
const timers = new WeakSet<object>();

function install(): void {
  const g = globalThis as unknown as Partial<Patched>;
  if (typeof g.setImmediate !== 'function' || typeof g.clearImmediate !== 'function') return;
  const real: Patched = { setImmediate: g.setImmediate, clearImmediate: g.clearImmediate };
  original = real;
  g.setImmediate = (fn, ...args) => {
    if (performance.now() - since < SPIN_MS) return real.setImmediate(fn, ...args);
    const t = setTimeout(fn, POLL_MS, ...args);
    timers.add(t);
    return t;
  };
  g.clearImmediate = (handle) => {
    if (handle !== null && typeof handle === 'object' && timers.has(handle))
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    else real.clearImmediate(handle);
  };
}

function uninstall(): void {
  if (!original) return;
  Object.assign(globalThis, original);
  original = null;
}

/**
 * Awaits the promise `start` returns (a GPU promise: `onSubmittedWorkDone`, `mapAsync`, …) with Dawn's polling
 * spaced out as described in this module's comment. `start` is called after the spacing is in place, since Dawn
 * schedules its first poll from inside the call. Rejections pass through unchanged.
 */
export async function awaitGpu<T>(start: () => Promise<T>): Promise<T> {
  if (pending++ === 0) {
    since = performance.now();
    install();
  }
  try {
    return await start();
  } finally {
    if (--pending === 0) uninstall();
  }
}
