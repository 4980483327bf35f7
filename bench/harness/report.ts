/**
 * What a run leaves behind: the JSON of every sample, a markdown table per case group, a chart of the speedups
 * over TF.js, and `bench/RESULTS.md` with the latest full run per runtime.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CaseResult } from './measure.js';
import type { SuiteResult } from './suite.js';

/** Where and on what a run happened; the Node runner fills it in. */
export interface RunInfo {
  date: string;
  /** ISO time the run started (absent in the first runs, which had only the date). */
  timestamp?: string;
  commit: string;
  machine: string;
  /** `node v20…` or the browser's version string. */
  host: string;
}

export interface RunFile extends SuiteResult {
  run: RunInfo;
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

function describe(c: CaseResult): string {
  // Whole-model cases: the id names the model and sizes, the JSON has every parameter.
  if (c.group === 'train-step' || c.group === 'dispatch') return c.id.slice(c.group.length + 1);
  // A matmul's `op` already spells out its shapes and transposes.
  const skip = new Set([
    'size',
    'kind',
    ...('op' in c.params ? ['batch', 'm', 'k', 'n', 'transA', 'transB'] : []),
  ]);
  return Object.entries(c.params)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** One adapter name for file names and headings: `lavapipe`, `swiftshader`, … */
export function adapterName(result: SuiteResult): string {
  const a = result.meta.adapter as {
    description?: string;
    device?: string;
    vendor?: string;
    architecture?: string;
  };
  const text = [a.description, a.device, a.architecture, a.vendor].find((s) => s && s.trim()) ?? 'unknown';
  // Mesa's lavapipe reports its device as llvmpipe.
  if (/llvmpipe|lavapipe/i.test(text)) return 'lavapipe';
  const known = /(swiftshader|nvidia|amd|radeon|intel|apple|mali|adreno)/i.exec(text);
  return (known ? known[1] : text).toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/**
 * Markdown: a header naming the adapter and method, then one table per case group. `from` names, per group, the
 * runs its cases come from when that is not just `file.run` (RESULTS.md merges the newest run of each case).
 */
export function markdown(file: RunFile, from: Record<string, RunInfo[]> = {}): string {
  const { meta, run } = file;
  const lines = [
    `### ${meta.runtime === 'node' ? 'Node (Dawn)' : 'Chrome'} on ${adapterName(file)}, ${run.date}`,
    '',
    `Commit ${run.commit}; ${run.machine}; ${run.host}; TF.js ${meta.tfjsVersion} (WebGPU backend, adapter: ${meta.tfjsAdapter || 'n/a'}).`,
    `Median of ${meta.runs} runs after ${meta.warmup} warm-up runs, min–max in brackets, ms; ours and TF.js interleaved in one process. ` +
      `Wait: ${meta.waitMethod}. Speedup = TF.js median / ours median (> 1: ours is faster). ` +
      `Compile = first (cold) run minus the median.`,
    '',
  ];
  const groups = [...new Set(file.cases.map((c) => c.group))];
  for (const g of groups) {
    const cases = file.cases.filter((c) => c.group === g);
    const names = cases[0].variants.map((v) => v.name);
    const ours = names.filter((n) => cases[0].variants.find((v) => v.name === n)!.library === 'ours');
    const rate = cases[0].flops ? 'GFLOP/s' : cases[0].bytes ? 'GB/s' : '';
    const sources = from[g] ?? [];
    const other = sources.length > 1 || (sources.length === 1 && sources[0] !== run);
    lines.push(
      `#### ${g}`,
      '',
      ...(other
        ? [
            `From the runs of ${sources.map((r) => `${r.timestamp ?? r.date} (commit ${r.commit})`).join(', ')}.`,
            '',
          ]
        : []),
      `| case | ${names.map((n) => `${n} (ms)`).join(' | ')} | ${ours.map((n) => `speedup ${n}`).join(' | ')} |${rate ? ` ${ours[0]} ${rate} |` : ''} compile ${ours[0]} / tfjs (ms) |`,
      `| --- | ${names.map(() => '---:').join(' | ')} | ${ours.map(() => '---:').join(' | ')} |${rate ? ' ---: |' : ''} ---: |`,
    );
    for (const c of cases) {
      const cells = c.variants.map((v) => `${fmt(v.medianMs)} [${fmt(v.minMs)}–${fmt(v.maxMs)}]`);
      const speed = ours.map((n) => (c.speedup[n] ? `**${c.speedup[n].toFixed(2)}×**` : '–'));
      const first = c.variants.find((v) => v.name === ours[0])!;
      const peer = c.variants.find((v) => v.library === 'tfjs');
      const r = rate === 'GFLOP/s' ? first.gflops : first.gbps;
      lines.push(
        `| ${describe(c)} | ${cells.join(' | ')} | ${speed.join(' | ')} |${rate ? ` ${r!.toFixed(1)} |` : ''} ${fmt(first.compileMs)} / ${peer ? fmt(peer.compileMs) : '–'} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** A bar chart of every case's speedup over TF.js (log scale, a rule at 1×), one colour per variant of ours. */
export function speedupChart(file: RunFile): TopLevelSpec {
  const values = file.cases.flatMap((c) =>
    Object.entries(c.speedup).map(([variant, speedup]) => ({ case: c.id, variant, speedup })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Speedup over TF.js WebGPU: ${file.meta.runtime === 'node' ? 'Node (Dawn)' : 'Chrome'} on ${adapterName(file)}`,
    data: { values },
    width: 360,
    height: { step: 14 },
    transform: [{ calculate: "datum.case + '  ' + datum.variant", as: 'row' }],
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'row', type: 'nominal', sort: null, title: null, axis: { labelLimit: 420 } },
          // Bars grow from 1×: right when ours is faster, left when slower.
          x2: { datum: 1 },
          x: {
            field: 'speedup',
            type: 'quantitative',
            scale: { type: 'log', domainMin: 0.25 },
            title: 'TF.js time / our time (log scale; right of the line: ours is faster)',
          },
          color: { field: 'variant', type: 'nominal', title: 'ours' },
        },
      },
      { mark: { type: 'rule', color: 'black' }, data: { values: [{}] }, encoding: { x: { datum: 1 } } },
    ],
  } as TopLevelSpec;
}
