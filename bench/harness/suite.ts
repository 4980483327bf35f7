/**
 * Runs a list of cases in one process (Node or a browser page) and collects what the report needs. Shared by
 * the Node runner and the page that puppeteer drives in Chrome.
 */
import { version_core as tfjsVersion } from '@tensorflow/tfjs-core';
import type { KernelSet } from '../../src/index.js';
import { tfAdapterInfo, waitMethod } from './env.js';
import { jaxAdapterInfo } from './jax.js';
import { resolveKernelSets } from './kernels.js';
import { measureCase, type CaseResult, type MeasureOptions } from './measure.js';
import type { BenchCase, BenchEnv } from './types.js';

export interface SuiteMeta {
  runtime: 'node' | 'browser';
  /** Our engine's adapter report (vendor, architecture, description, limits, features). */
  adapter: unknown;
  /** TF.js's view of its adapter, to show both ran on the same one. */
  tfjsAdapter: string;
  tfjsVersion: string;
  /** jax-js's view of its adapter; empty when it did not run. */
  jaxAdapter?: string;
  /** Why jax-js ran no case, when it could not start. */
  jaxUnavailable?: string;
  /** Filled in by the Node runner (bench/run.ts), which reads it from node_modules. */
  jaxVersion?: string;
  /** The adapter's own kernel set, and the sets our variants ran under. */
  kernels?: { auto: KernelSet; ran: KernelSet[] };
  userAgent: string;
  waitMethod: string;
  warmup: number;
  runs: number;
  quick: boolean;
}

export interface SuiteResult {
  meta: SuiteMeta;
  cases: CaseResult[];
}

/**
 * Measures every case; stops at the first validation failure (rethrown with the case id), so a wrong kernel is
 * never timed.
 */
export async function runSuite(
  env: BenchEnv,
  cases: BenchCase[],
  opts: MeasureOptions,
  onCase: (c: BenchCase, index: number, result: CaseResult) => void = () => {},
): Promise<SuiteResult> {
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    let r: CaseResult;
    try {
      r = await measureCase(c, env, opts);
    } catch (e) {
      throw new Error(`benchmark case ${c.id} failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    results.push(r);
    onCase(c, i, r);
  }
  return {
    meta: {
      runtime: env.runtime,
      adapter: env.engine.adapter,
      tfjsAdapter: tfAdapterInfo(env),
      tfjsVersion,
      jaxAdapter: env.jax ? jaxAdapterInfo(env.jax) : '',
      ...(env.jaxUnavailable ? { jaxUnavailable: env.jaxUnavailable } : {}),
      kernels: { auto: env.autoKernels, ran: resolveKernelSets(opts.kernels ?? ['auto'], env.autoKernels) },
      userAgent: typeof navigator !== 'undefined' ? navigator.userAgent : '',
      waitMethod: waitMethod(env.runtime),
      warmup: opts.warmup,
      runs: opts.runs,
      quick: env.quick,
    },
    cases: results,
  };
}
