/**
 * The device benchmark's pack (bench/device), as the GPU machine gets it: `npm run bench:device -- --pack` into a
 * temporary folder (the Node package and the .debs come from the npm registry and apt the first time, then from
 * .cache/device), its size and contents, then `run.sh --quick` on this machine's adapter (lavapipe here: the
 * Vulkan loader is already installed, so the .debs stay unused). Asserted: the pack's own Node ran the bundle,
 * which printed the adapter and wrote JSON and markdown whose every case was validated against the CPU reference.
 * Timings are not asserted, and one timed run per variant is enough for that.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sampledAttention } from '../bench/device/sampled_attention.js';
import { predictSeconds, type DeviceRunFile } from '../bench/device/report.js';
import { randomInts, randomValues } from '../bench/harness/check.js';
import { onCpu } from '../bench/harness/reference.js';
import type { BenchCase } from '../bench/harness/types.js';
import { scaledDotProductAttention } from '../src/ops/attention.js';
import { backward } from '../src/ops/autograd.js';
import { useEngine } from './engine_fixture.js';

const repo = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'device-pack-'));
const pack = join(dir, 'pack');
const out = join(dir, 'out');

useEngine('cpu');
beforeAll(async () => {
  execFileSync('npm', ['run', 'bench:device', '--', '--pack', pack], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('packs Node, Dawn, the bundle, the Vulkan loader and run.sh into at most 56 MiB', () => {
  const files = readdirSync(pack, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(join(pack, f)).isFile(),
  );
  expect(files).toEqual(
    expect.arrayContaining(['run.sh', 'info.json', 'node.xz', 'dawn.node.xz', 'app.tar.xz']),
  );
  expect(files.some((f) => /^debs\/libvulkan1_.*_amd64\.deb$/.test(f))).toBe(true);
  // Nothing for `eslint .` to walk into when the pack sits in the repo.
  expect(files.filter((f) => /\.(m?js|cjs|ts)$/.test(f))).toEqual([]);
  const total = files.reduce((s, f) => s + statSync(join(pack, f)).size, 0);
  expect(total).toBeLessThanOrEqual(56 * 2 ** 20);
  const app = execFileSync('tar', ['-tJf', join(pack, 'app.tar.xz')], { encoding: 'utf8' });
  expect(app).toMatch(/\.\/bench\.mjs/);
  expect(app).toMatch(/node_modules\/webgpu\/index\.js/);
});

it('run.sh --quick prints the adapter and writes validated results', { timeout: 900_000 }, () => {
  const r = spawnSync('bash', [join(pack, 'run.sh'), '--quick', '--runs', '1', '--warmup', '0'], {
    cwd: dir,
    encoding: 'utf8',
    // A budget no slow shared machine runs out of (every quick case must run here), and no kernel set forced by
    // this test project: the bench runs both.
    env: { ...process.env, OUT: out, TOTAL_S: '840', WEBGPU_ATTENTION_KERNELS: '' },
    timeout: 880_000,
  });
  const output = `${r.stdout}${r.stderr}`;
  expect(r.status, output.slice(-4000)).toBe(0);
  expect(output).toMatch(/^adapter: vendor=.* description=".+"/m);
  expect(output).toMatch(/node v22\./);
  const names = readdirSync(out);
  const json = names.find((n) => /^device-.*-quick\.json$/.test(n));
  const md = names.find((n) => /^device-.*-quick\.md$/.test(n));
  expect(json && md && names.includes('log.txt'), names.join(', ')).toBeTruthy();
  const f = JSON.parse(readFileSync(join(out, json!), 'utf8')) as DeviceRunFile;
  expect(f.device).toMatchObject({ profile: 'device', quick: true, skipped: [], failed: [] });
  expect(f.device.running).toBeUndefined();
  expect(new Set(f.cases.map((c) => c.group))).toEqual(
    new Set(['matmul', 'train-step', 'sdpa-fwd', 'sdpa-fwd-bwd']),
  );
  for (const c of f.cases) {
    expect(c.validated, c.id).toBe(true);
    // Ours under both kernel sets, and TF.js, in every case.
    const names = c.variants.map((v) => v.name);
    expect(names.some((n) => n.endsWith('(software)')) && names.some((n) => n.endsWith('(hardware)'))).toBe(
      true,
    );
    expect(names).toContain('tfjs');
  }
  expect(f.run.host).toMatch(/^node v22\./);
  const text = readFileSync(join(out, md!), 'utf8');
  expect(text).toMatch(/## Device run: profile device \(quick\)/);
  expect(text).toMatch(/#### sdpa-fwd-bwd/);
});

it('the sampled attention reference equals the CPU reference of whole heads where it checks', async () => {
  const [h, l, d] = [3, 40, 8];
  const [q, k, v, dy] = [1, 2, 3, 4].map((seed) => randomValues(h * l * d, seed));
  const lens = randomInts(h, l / 2, l, 5);
  const s = sampledAttention({ q, k, v, dy, lens, l, d }, 6);
  expect(s.heads).toEqual([0, 2]);
  expect(s.rows).toHaveLength(6);
  // The checked heads keep their gradient on the sampled rows only; the middle head keeps all of it.
  const nonzeroRows = (head: number) =>
    Array.from({ length: l }, (_, i) => i).filter((i) =>
      dy.subarray((head * l + i) * d, (head * l + i + 1) * d).some((x) => x !== 0),
    );
  expect(nonzeroRows(0)).toEqual(s.rows);
  expect(nonzeroRows(2)).toEqual(s.rows);
  expect(nonzeroRows(1)).toHaveLength(l);
  const want = await onCpu(async (cpu) => {
    const [cq, ck, cv, cdy] = [q, k, v, dy].map((x) => cpu.fromArray(x, [h, l, d]));
    for (const t of [cq, ck, cv]) t.requiresGrad = true;
    const { output } = scaledDotProductAttention(cq, ck, cv, {
      validLens: cpu.fromArray(lens, [h], 'int32'),
    });
    backward(output, cdy);
    return Promise.all([output, cq.grad!, ck.grad!, cv.grad!].map((t) => t.data()));
  });
  const got = s.want(true);
  expect(got.map((g) => g.length)).toEqual(s.at.map((a) => a.length));
  got.forEach((g, o) =>
    g.forEach((x, i) =>
      expect(Math.abs(x - want[o][s.at[o][i]]), `output ${o} at ${s.at[o][i]}`).toBeLessThan(1e-5),
    ),
  );
  // The forward alone: the same output rows.
  expect(s.want(false)[0]).toEqual(got[0]);
});

it('predicts a case from its group: nothing for a new group, else along its two largest cases', () => {
  const c = (group: string, flops?: number) => ({ group, id: `${group}/${flops}`, flops }) as BenchCase;
  expect(predictSeconds(c('matmul', 8), [])).toBe(0);
  const done = [
    { c: c('matmul', 1), seconds: 2 },
    { c: c('matmul', 2), seconds: 2.5 },
    { c: c('matmul', 4), seconds: 4 },
    { c: c('train-step'), seconds: 7 },
  ];
  // 0.75 s per FLOP between the two largest.
  expect(predictSeconds(c('matmul', 8), done)).toBe(4 + 0.75 * 4);
  // Never below the quickest of the group.
  expect(predictSeconds(c('matmul', 0.5), done)).toBe(2);
  // One case, or a line that does not rise: the largest scaled by the work.
  expect(predictSeconds(c('matmul', 8), done.slice(2, 3))).toBe(8);
  expect(predictSeconds(c('matmul', 8), [{ c: c('matmul', 1), seconds: 9 }, done[2]])).toBe(8);
  expect(predictSeconds(c('train-step'), done)).toBe(7);
  expect(predictSeconds(c('sdpa-fwd', 8), done)).toBe(0);
});
