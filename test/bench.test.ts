/**
 * The benchmark harness itself (timings are never asserted): a case whose output disagrees with the CPU reference
 * aborts before it is timed, case selection rejects typos, and a real quick case runs end to end in Node with
 * both libraries on one adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectCases } from '../bench/cases/index.js';
import { matmulCases } from '../bench/cases/matmul.js';
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

it('runs a quick matmul case in Node against TF.js, with every sample reported', async () => {
  const c = matmulCases.find((x) => x.quick && x.params.kind === 'square')!;
  const r = await measureCase(c, env, { warmup: 1, runs: 7 });
  expect(r.validated).toBe(true);
  expect(r.variants.map((v) => [v.name, v.library, v.samplesMs.length])).toEqual([
    ['ours', 'ours', 7],
    ['tfjs', 'tfjs', 7],
  ]);
  for (const v of r.variants) {
    expect(v.minMs).toBeLessThanOrEqual(v.medianMs);
    expect(v.medianMs).toBeLessThanOrEqual(v.maxMs);
    expect(v.gflops).toBeGreaterThan(0);
  }
  expect(r.speedup.ours).toBeCloseTo(r.variants[1].medianMs / r.variants[0].medianMs, 10);
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
  expect(markdown(file)).toContain(`| op=(128,128)·(128,128) |`);
  expect(JSON.stringify(speedupChart(file))).toContain(c.id);
});
