/**
 * The benchmark harness itself (timings are never asserted): a case whose output disagrees with the CPU reference
 * aborts before it is timed (a peer's too), a peer that fails otherwise is noted and dropped, our variants run
 * once per kernel set asked for, case selection rejects typos, and a real quick case runs end to end in Node with
 * the three libraries on one adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectCases } from '../bench/cases/index.js';
import { matmulCases } from '../bench/cases/matmul.js';
import { sdpaCase } from '../bench/cases/sdpa.js';
import { expectClose } from '../bench/harness/check.js';
import { createEnv, destroyEnv } from '../bench/harness/env.js';
import { measureCase } from '../bench/harness/measure.js';
import { markdown, speedupChart, type RunFile } from '../bench/harness/report.js';
import type { BenchCase, BenchEnv } from '../bench/harness/types.js';

let env: BenchEnv;
beforeAll(async () => {
  env = await createEnv('node', true);
});
afterAll(() => destroyEnv(env));

describe('selectCases', () => {
  it('keeps the quick cases of the named groups and sizes', () => {
    const picked = selectCases({ quick: true, cases: ['matmul'], sizes: [128] });
    expect(picked.length).toBeGreaterThan(0);
    expect(picked.every((c) => c.group === 'matmul' && c.quick && c.params.size === 128)).toBe(true);
  });
  it('rejects a name that matches no case', () => {
    expect(() => selectCases({ cases: ['matmull'] })).toThrow(/no benchmark case matches "matmull"/);
  });
});

it('expectClose names the case and the worst entry', () => {
  expect(() => expectClose('x ours', [1, 2, 3.5], [1, 2, 3], 1e-4)).toThrow(
    /x ours: relative error .* \(at 2: got 3.5, want 3\)/,
  );
  expect(() => expectClose('x ours', [NaN], [1], 1e-4)).toThrow(/relative error Infinity/);
  expect(() => expectClose('x ours', [1, 2, 3], [1, 2, 3], 1e-4)).not.toThrow();
});

it('a variant that disagrees with the reference aborts the case before any timing', async () => {
  let timedRuns = 0;
  const broken: BenchCase = {
    group: 'fake',
    id: 'fake/1',
    params: { size: 1 },
    quick: true,
    async setup() {
      return {
        variants: [{ name: 'ours', library: 'ours', run: () => void timedRuns++ }],
        async validate() {
          expectClose('fake/1 ours', [0.5], [1], 1e-4);
        },
        dispose() {},
      };
    },
  };
  await expect(measureCase(broken, env, { warmup: 1, runs: 7 })).rejects.toThrow(
    /fake\/1 ours: relative error/,
  );
  // Only the cold run happened: no warm-up and no timed runs after the failed validation.
  expect(timedRuns).toBe(1);
});

it('runs a quick matmul case in Node against TF.js and jax-js, with every sample reported', async () => {
  expect(env.jaxUnavailable).toBeUndefined();
  const c = matmulCases.find((x) => x.quick && x.params.kind === 'square')!;
  const r = await measureCase(c, env, { warmup: 1, runs: 7 });
  expect(r.validated).toBe(true);
  expect(r.variants.map((v) => [v.name, v.library, v.samplesMs.length])).toEqual([
    ['ours', 'ours', 7],
    ['tfjs', 'tfjs', 7],
    ['jax-js', 'jax', 7],
  ]);
  expect(r.variants[0].kernels).toBe(env.autoKernels);
  for (const v of r.variants) {
    expect(v.minMs).toBeLessThanOrEqual(v.medianMs);
    expect(v.medianMs).toBeLessThanOrEqual(v.maxMs);
    expect(v.gflops).toBeGreaterThan(0);
  }
  expect(r.speedups.tfjs!.ours).toBeCloseTo(r.variants[1].medianMs / r.variants[0].medianMs, 10);
  expect(r.speedups.jax!.ours).toBeCloseTo(r.variants[2].medianMs / r.variants[0].medianMs, 10);
  const file: RunFile = {
    run: { date: '2026-11-24', commit: 'abc', machine: 'test', host: 'node' },
    meta: {
      runtime: 'node',
      adapter: env.engine.adapter,
      tfjsAdapter: '',
      tfjsVersion: '4',
      userAgent: '',
      waitMethod: 'w',
      warmup: 1,
      runs: 7,
      quick: true,
    },
    cases: [r],
  };
  const md = markdown(file);
  expect(md).toContain(`| op=(128,128)·(128,128) |`);
  expect(md).toContain('| speedup ours vs TF.js / jax-js |');
  expect(md).toMatch(/\| \*\*[\d.]+×\*\* \/ \*\*[\d.]+×\*\* \|/);
  expect(JSON.stringify(speedupChart(file))).toContain(c.id);
});

it('leaves the peers out of a case above --peer-max-size, with the reason, and times ours alone', async () => {
  const c = sdpaCase(16, 8, true, true);
  const r = await measureCase(c, { ...env, peerMaxSize: 8 }, { warmup: 1, runs: 7 });
  expect(r.validated).toBe(true);
  expect(r.variants.map((v) => v.name)).toEqual(['ours fused', 'ours unfused']);
  expect(r.unavailable).toEqual({
    tfjs: 'left out above --peer-max-size 8',
    jax: 'left out above --peer-max-size 8',
  });
  const within = await measureCase(c, { ...env, peerMaxSize: 16 }, { warmup: 1, runs: 7 });
  expect(within.variants.map((v) => v.library)).toEqual(['ours', 'ours', 'tfjs', 'jax']);
});

it('runs our variants once per kernel set, labelled, and notes a peer that cannot run the case', async () => {
  const c: BenchCase = {
    group: 'fake',
    id: 'fake/2',
    params: { size: 1 },
    quick: true,
    async setup() {
      return {
        variants: [
          { name: 'ours', library: 'ours', run: () => {} },
          { name: 'tfjs', library: 'tfjs', run: () => {} },
        ],
        async validate() {},
        dispose() {},
        jax: () => ({
          variants: [
            {
              name: 'jax-js',
              library: 'jax',
              run: () => {
                throw new Error('no such op');
              },
            },
          ],
          async validate() {},
          dispose() {},
        }),
      };
    },
  };
  const r = await measureCase(c, env, { warmup: 1, runs: 7, kernels: ['software', 'hardware'] });
  expect(r.variants.map((v) => [v.name, v.kernels])).toEqual([
    ['ours (software)', 'software'],
    ['ours (hardware)', 'hardware'],
    ['tfjs', undefined],
  ]);
  expect(Object.keys(r.speedups.tfjs!)).toEqual(['ours (software)', 'ours (hardware)']);
  expect(r.unavailable).toEqual({ jax: 'jax-js failed: no such op' });
  expect(env.engine.profile.kernels).toBe(env.autoKernels);
});

it('a jax-js output that disagrees with the reference still aborts the case', async () => {
  const c: BenchCase = {
    group: 'fake',
    id: 'fake/3',
    params: { size: 1 },
    quick: true,
    async setup() {
      return {
        variants: [{ name: 'ours', library: 'ours', run: () => {} }],
        async validate() {},
        dispose() {},
        jax: () => ({
          variants: [{ name: 'jax-js', library: 'jax', run: () => {} }],
          async validate() {
            expectClose('fake/3 jax-js', [2], [1], 1e-4);
          },
          dispose() {},
        }),
      };
    },
  };
  await expect(measureCase(c, env, { warmup: 1, runs: 7 })).rejects.toThrow(/fake\/3 jax-js: relative error/);
});
