/**
 * What a run leaves behind: the JSON of every sample, a markdown table per case group, a chart of the speedups
 * over each peer (TF.js, jax-js), and `bench/RESULTS.md` with the latest full run per runtime.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CpuPeak } from './cpu_peak.js';
import type { CaseResult, Speedups, VariantResult } from './measure.js';
import type { SuiteMeta, SuiteResult } from './suite.js';
import { PEER_NAMES, PEERS, type Peer } from './types.js';

/** Where and on what a run happened; the Node runner fills it in. */
export interface RunInfo {
  date: string;
  /** ISO time the run started (absent in the first runs, which had only the date). */
  timestamp?: string;
  commit: string;
  machine: string;
  /** `node v20…` or the browser's version string. */
  host: string;
  /** The CPU's FP32 FMA peak measured before the run (absent in runs before it was measured). */
  cpuPeak?: CpuPeak;
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

/** A case's speedups per peer; runs from before jax-js joined have only `speedup`, over TF.js. */
export function speedupsOf(c: CaseResult): Speedups {
  return c.speedups ?? (c.speedup ? { tfjs: c.speedup } : {});
}

/** The peers line of the header: versions and adapters, or why a peer did not run. */
function peersLine(meta: SuiteMeta): string {
  const tfjs = `TF.js ${meta.tfjsVersion} (WebGPU backend, adapter: ${meta.tfjsAdapter || 'n/a'})`;
  const jax =
    meta.jaxAdapter !== undefined || meta.jaxUnavailable
      ? meta.jaxUnavailable
        ? `jax-js ${meta.jaxVersion ?? ''} did not run: ${meta.jaxUnavailable}`
        : `jax-js ${meta.jaxVersion ?? ''} (WebGPU, under \`jit\`, adapter: ${meta.jaxAdapter || 'n/a'})`
      : 'jax-js not in this run';
  const k = meta.kernels;
  const kernels = k ? `; our kernel sets: ${k.ran.join(', ')} (the adapter's own: ${k.auto})` : '';
  return `${tfjs}; ${jax}${kernels}.`;
}

/** The header line on the CPU's peak: on a CPU-emulated adapter the yardstick for every GFLOP/s below. */
function peakLine(peak: CpuPeak | undefined): string[] {
  if (!peak) return [];
  if ('unavailable' in peak) return [`CPU FP32 FMA peak: not measured (${peak.unavailable}).`];
  return [
    `CPU FP32 FMA peak: **${peak.gflops.toFixed(1)} GFLOP/s** (${peak.how}); "% of CPU peak" below is ours GFLOP/s over it (meaningful on CPU-emulated adapters, where the kernels run on these cores).`,
  ];
}

/** Variant names over every case of a group, in first-seen order (runs merged into RESULTS.md may differ). */
function variantNames(cases: CaseResult[]): VariantResult[] {
  const seen = new Map<string, VariantResult>();
  for (const c of cases) for (const v of c.variants) if (!seen.has(v.name)) seen.set(v.name, v);
  return [...seen.values()];
}

/** Below a group's table: each peer's reasons for the cases it did not run, one line per reason. */
function unavailableNotes(cases: CaseResult[]): string[] {
  const notes = new Map<string, string[]>();
  for (const c of cases)
    for (const [peer, why] of Object.entries(c.unavailable ?? {})) {
      const key = `${PEER_NAMES[peer as Peer]}: ${why}`;
      notes.set(key, [...(notes.get(key) ?? []), describe(c) || c.id]);
    }
  return [...notes].map(([why, ids]) => `- n/a, ${why} (${ids.join('; ')})`);
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
    `Commit ${run.commit}; ${run.machine}; ${run.host}; ${peersLine(meta)}`,
    ...peakLine(run.cpuPeak),
    `Median of ${meta.runs} runs after ${meta.warmup} warm-up runs, min–max in brackets, ms; every library interleaved in one process. ` +
      `Wait: ${meta.waitMethod}. Speedup vs a peer = the peer's median / ours median (> 1: ours is faster). ` +
      `Compile = first (cold) run minus the median.`,
    '',
  ];
  const groups = [...new Set(file.cases.map((c) => c.group))];
  for (const g of groups) {
    const cases = file.cases.filter((c) => c.group === g);
    const variants = variantNames(cases);
    const ours = variants.filter((v) => v.library === 'ours').map((v) => v.name);
    // A peer that ran none of the group's cases gets no columns, only the note below the table.
    const peers = PEERS.filter((p) => cases.some((c) => speedupsOf(c)[p]));
    const peerName = (p: Peer) => variants.find((v) => v.library === p)?.name ?? PEER_NAMES[p];
    const rate = cases[0].flops ? 'GFLOP/s' : cases[0].bytes ? 'GB/s' : '';
    const cpuPeak = run.cpuPeak && 'gflops' in run.cpuPeak ? run.cpuPeak.gflops : 0;
    const peak = rate === 'GFLOP/s' && cpuPeak > 0;
    // Memory matters where our paths differ in what they allocate: the attention cases (fused vs unfused).
    const memory =
      g.startsWith('sdpa') && cases.some((c) => c.variants.some((v) => v.peakBytes !== undefined));
    const sources = from[g] ?? [];
    const other = sources.length > 1 || (sources.length === 1 && sources[0] !== run);
    const cols = [
      'case',
      ...variants.map((v) => `${v.name} (ms)`),
      // One column per variant of ours, a value per peer: half as many columns as a column per pair.
      ...ours.map((n) => `speedup ${n} vs ${peers.map((p) => PEER_NAMES[p]).join(' / ')}`),
      ...(rate ? [`${ours[0]} ${rate}`] : []),
      ...(peak ? [`${ours[0]} % of CPU peak`] : []),
      ...(memory ? [`peak MiB ${ours.join(' / ')}`] : []),
      `compile ${[ours[0], ...peers.map(peerName)].join(' / ')} (ms)`,
    ];
    lines.push(
      `#### ${g}`,
      '',
      ...(other
        ? [
            `From the runs of ${sources.map((r) => `${r.timestamp ?? r.date} (commit ${r.commit})`).join(', ')}.`,
            '',
          ]
        : []),
      `| ${cols.join(' | ')} |`,
      `| --- | ${cols
        .slice(1)
        .map(() => '---:')
        .join(' | ')} |`,
    );
    for (const c of cases) {
      const byName = (n: string) => c.variants.find((v) => v.name === n);
      const cells = variants.map(({ name, library }) => {
        const v = byName(name);
        if (v) return `${fmt(v.medianMs)} [${fmt(v.minMs)}–${fmt(v.maxMs)}]`;
        return library !== 'ours' && c.unavailable?.[library] ? 'n/a' : '–';
      });
      const sp = speedupsOf(c);
      const speed = ours.map((n) =>
        peers
          .map((p) => (sp[p]?.[n] ? `**${sp[p][n].toFixed(2)}×**` : c.unavailable?.[p] ? 'n/a' : '–'))
          .join(' / '),
      );
      const first = byName(ours[0]);
      const r = first && (rate === 'GFLOP/s' ? first.gflops : first.gbps);
      const compile = [first, ...peers.map((p) => c.variants.find((v) => v.library === p))].map((v) =>
        v ? fmt(v.compileMs) : '–',
      );
      lines.push(
        `| ${[
          describe(c),
          ...cells,
          ...speed,
          ...(rate ? [r ? r.toFixed(1) : '–'] : []),
          ...(peak ? [r ? `${((100 * r) / cpuPeak).toFixed(1)}%` : '–'] : []),
          ...(memory
            ? [
                ours
                  .map((n) => byName(n)?.peakBytes)
                  .map((b) => (b === undefined ? '–' : (b / 2 ** 20).toFixed(1)))
                  .join(' / '),
              ]
            : []),
          compile.join(' / '),
        ].join(' | ')} |`,
      );
    }
    const notes = unavailableNotes(cases);
    lines.push('', ...(notes.length ? [...notes, ''] : []));
  }
  return lines.join('\n');
}

/**
 * A bar chart of every case's speedup over each peer (log scale, a rule at 1×): a row per case and variant of
 * ours, a bar per peer.
 */
export function speedupChart(file: RunFile): TopLevelSpec {
  const values = file.cases.flatMap((c) =>
    Object.entries(speedupsOf(c)).flatMap(([peer, byVariant]) =>
      Object.entries(byVariant ?? {}).map(([variant, speedup]) => ({
        case: c.id,
        variant,
        peer: PEER_NAMES[peer as Peer],
        speedup,
      })),
    ),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Speedup over TF.js and jax-js (WebGPU): ${file.meta.runtime === 'node' ? 'Node (Dawn)' : 'Chrome'} on ${adapterName(file)}`,
    data: { values },
    width: 360,
    height: { step: 16 },
    transform: [{ calculate: "datum.case + '  ' + datum.variant", as: 'row' }],
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'row', type: 'nominal', sort: null, title: null, axis: { labelLimit: 460 } },
          yOffset: { field: 'peer', type: 'nominal', sort: PEERS.map((p) => PEER_NAMES[p]) },
          // Bars grow from 1×: right when ours is faster, left when slower.
          x2: { datum: 1 },
          x: {
            field: 'speedup',
            type: 'quantitative',
            scale: { type: 'log', domainMin: 0.25 },
            title: 'peer time / our time (log scale; right of the line: ours is faster)',
          },
          color: {
            field: 'peer',
            type: 'nominal',
            title: 'vs',
            sort: PEERS.map((p) => PEER_NAMES[p]),
          },
        },
      },
      { mark: { type: 'rule', color: 'black' }, data: { values: [{}] }, encoding: { x: { datum: 1 } } },
    ],
  } as TopLevelSpec;
}

/** One progress line's worth of a case's speedups: `ours fused 1.20× vs TF.js, 0.90× vs jax-js; …`. */
export function speedupLine(c: CaseResult): string {
  const sp = speedupsOf(c);
  const ours = c.variants.filter((v) => v.library === 'ours').map((v) => v.name);
  const parts = ours.map(
    (n) =>
      `${n} ${PEERS.filter((p) => sp[p]?.[n])
        .map((p) => `${sp[p]![n].toFixed(2)}× vs ${PEER_NAMES[p]}`)
        .join(', ')}`,
  );
  const missing = Object.keys(c.unavailable ?? {}).map((p) => `${PEER_NAMES[p as Peer]} n/a`);
  return [...parts, ...missing].join('; ');
}
