/**
 * `--kernels`: which of our kernel sets (src/runtime/kernel_set.ts) the run times, each as its own variants.
 * `auto` stands for the adapter's own set, which is known only once the engine runs (in Node or in the page).
 */
import type { KernelChoice, KernelSet } from '../../src/index.js';

const CHOICES: readonly KernelChoice[] = ['software', 'hardware', 'auto'];

/**
 * The sets named on the command line; undefined when none is (then only the adapter's own set runs, unlabelled).
 * @throws Error on a name that is no kernel set.
 */
export function parseKernelSets(names: string[]): KernelChoice[] | undefined {
  for (const n of names)
    if (!CHOICES.includes(n as KernelChoice))
      throw new Error(`--kernels: expected ${CHOICES.join(', ')}, got ${n}`);
  return names.length ? [...new Set(names as KernelChoice[])] : undefined;
}

/** The sets to run, `auto` replaced by the adapter's own set, without repeats. */
export function resolveKernelSets(choices: KernelChoice[], auto: KernelSet): KernelSet[] {
  return [...new Set(choices.map((k) => (k === 'auto' ? auto : k)))];
}
