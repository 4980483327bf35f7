/**
 * What the harness runs for one case: our variants once per kernel set, TF.js, and jax-js when it runs on the
 * adapter and the case has a jax-js version. Each kernel set gets a setup of its own, since a captured graph
 * (`ours replay`) keeps the kernels it was captured with; the peers come from the first setup. A jax-js failure
 * that is not a mismatch (an op it lacks, a pipeline the adapter rejects) drops its variants with the reason.
 */
import type { KernelChoice, KernelSet } from '../../src/index.js';
import { Mismatch } from './check.js';
import { reason } from './jax.js';
import { resolveKernelSets } from './kernels.js';
import type { BenchCase, BenchEnv, CaseInstance, Peer, PeerPart, Variant } from './types.js';

export interface PreparedCase {
  /** What is timed, in run order; shrinks when jax-js is dropped. */
  readonly variants: Variant[];
  /** Peers without variants in this case, and why. */
  readonly unavailable: Partial<Record<Peer, string>>;
  /** Validates our variants under each kernel set, TF.js, then jax-js (dropped on a failure other than a mismatch). */
  validate(): Promise<void>;
  /**
   * Handles an error thrown by `v`: rethrows it unless `v` is jax-js's and the error is not a mismatch, in which
   * case jax-js is dropped from the case.
   */
  fail(v: Variant, e: unknown): void;
  /** Frees every setup and restores the adapter's kernel set. */
  dispose(): void;
}

/**
 * Sets the case up. @param kernels the sets our variants run under, their names suffixed ` (set)`; undefined: the
 * adapter's own set, names as the case gives them.
 */
export async function prepareCase(
  c: BenchCase,
  env: BenchEnv,
  kernels: KernelChoice[] | undefined,
): Promise<PreparedCase> {
  const { engine } = env;
  const sets = kernels ? resolveKernelSets(kernels, env.autoKernels) : [env.autoKernels];
  const instances: { set: KernelSet; inst: CaseInstance }[] = [];
  let jaxPart: PeerPart | undefined;
  const unavailable: Partial<Record<Peer, string>> = {};
  const dispose = () => {
    for (const { inst } of instances) inst.dispose();
    jaxPart?.dispose();
    engine.setKernels(env.autoKernels);
  };
  const dropJax = (e: unknown) => {
    if (e instanceof Mismatch) throw e;
    unavailable.jax = `jax-js failed: ${reason(e)}`;
    try {
      jaxPart?.dispose();
    } finally {
      jaxPart = undefined;
    }
  };
  try {
    for (const set of sets) {
      engine.setKernels(set);
      instances.push({ set, inst: await c.setup(env) });
    }
    const first = instances[0].inst;
    if (first.peersLeftOut) unavailable.tfjs = unavailable.jax = first.peersLeftOut;
    else if (!env.jax) unavailable.jax = env.jaxUnavailable ?? 'jax-js is not loaded';
    else if (!first.jax) unavailable.jax = 'no jax-js version of this case';
    else
      try {
        const part = await first.jax(env.jax);
        if (typeof part === 'string') unavailable.jax = part;
        else jaxPart = part;
      } catch (e) {
        dropJax(e);
      }
  } catch (e) {
    dispose();
    throw e;
  }
  const ours = instances.flatMap(({ set, inst }) =>
    inst.variants
      .filter((v) => v.library === 'ours')
      .map((v): Variant => ({
        ...v,
        name: kernels ? `${v.name} (${set})` : v.name,
        kernels: set,
        run: () => {
          engine.setKernels(set);
          return v.run();
        },
      })),
  );
  const tfjs = instances[0].inst.variants.filter((v) => v.library !== 'ours');
  return {
    get variants() {
      return [...ours, ...tfjs, ...(jaxPart?.variants ?? [])];
    },
    unavailable,
    async validate() {
      for (const { set, inst } of instances) {
        engine.setKernels(set);
        await inst.validate();
      }
      if (jaxPart)
        try {
          await jaxPart.validate();
        } catch (e) {
          dropJax(e);
        }
    },
    fail(v, e) {
      if (v.library !== 'jax') throw e;
      dropJax(e);
    },
    dispose,
  };
}
