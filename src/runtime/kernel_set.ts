/**
 * Kernel sets: one kernel design per adapter class, chosen in one place. On CPU emulators (lavapipe, SwiftShader)
 * every storage load is a bounds-checked per-lane gather, barriers are expensive and loop-indexed private arrays may
 * spill: the `software` set uses few loads, no barriers and registers in named variables. On GPUs the opposite holds:
 * the `hardware` set stages tiles in workgroup memory, keeps per-thread state small and launches enough workgroups
 * to fill every compute unit. An op lists its kernels per set ({@link pick}); the engine's profile says which set
 * runs. Both sets pass the same registry cases (test/registry.test.ts runs each one forced).
 */

/** A kernel design family: for CPU-emulated adapters, or for GPUs. */
export type KernelSet = 'software' | 'hardware';

/** What `init({ kernels })` accepts: `'auto'` picks from the adapter (software when it is CPU-emulated). */
export type KernelChoice = 'auto' | KernelSet;

/** The environment variable that forces a set when `init` is not told one (tests, bench). */
export const KERNELS_ENV = 'WEBGPU_ATTENTION_KERNELS';

/** What a dispatch needs to know about the adapter to pick a kernel. */
export interface AdapterProfile {
  /** The kernel set that runs. */
  kernels: KernelSet;
  /** Whether the adapter is CPU-emulated (what `'auto'` decides from). */
  software: boolean;
  /** Whether the device has the `subgroups` feature. */
  subgroups: boolean;
  /** The device's limits as requested (the adapter's, or WebGPU's defaults with `limits: 'default'`). */
  limits: Readonly<Record<string, number>>;
}

/** The set named by {@link KERNELS_ENV}, or null when unset; throws on any other value. */
export function kernelsFromEnv(): KernelSet | null {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.[KERNELS_ENV];
  if (v === undefined || v === '' || v === 'auto') return null;
  if (v !== 'software' && v !== 'hardware')
    throw new Error(`${KERNELS_ENV}=${v}: expected software, hardware or auto`);
  return v;
}

/**
 * The set that runs: the one `init` was told, else the environment's, else software on a CPU-emulated adapter
 * and hardware on a GPU.
 * @throws Error when `choice` or the environment variable is not a known set.
 */
export function resolveKernelSet(choice: KernelChoice | undefined, software: boolean): KernelSet {
  if (choice !== undefined && choice !== 'auto' && choice !== 'software' && choice !== 'hardware')
    throw new Error(`init: kernels must be 'auto', 'software' or 'hardware', got ${String(choice)}`);
  if (choice === 'software' || choice === 'hardware') return choice;
  return kernelsFromEnv() ?? (software ? 'software' : 'hardware');
}

/** One value per kernel set: a kernel name, or a whole dispatch plan. */
export type PerSet<T> = Readonly<Record<KernelSet, T>>;

/** The entry of `variants` for the set `profile` runs. The one place where ops choose by adapter. */
export function pick<T>(profile: Pick<AdapterProfile, 'kernels'>, variants: PerSet<T>): T {
  return variants[profile.kernels];
}
