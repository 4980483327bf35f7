import type { TopLevelSpec } from 'vega-lite';
import { writePng } from './write.js';

/** One named series of {@link lineChart}. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** 'line' (default) joins the points in the order given; 'point' draws them as dots (e.g. training data). */
  mark?: 'line' | 'point';
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** One line, or one entry per line. */
  title: string | string[];
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Log-scale y axis; points with y ≤ 0 are dropped. */
  logY?: boolean;
  /** Plot area size in CSS px (the PNG is twice that); default 480 × 300. */
  width?: number;
  height?: number;
}

/** Vega's 'tableau10' colours; series take them in the order given, whatever their mark. */
const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

/** A drawable point, tagged with its series under `line` or `point` (distinct fields keep two legends apart). */
interface Row {
  line?: string;
  point?: string;
  x: number;
  y: number;
  i: number;
}

/** Long-format rows of the drawable points of the series with the given mark. */
function rows(series: Series[], mark: 'line' | 'point', logY: boolean): Row[] {
  const out: Row[] = [];
  for (const s of series) {
    if ((s.mark ?? 'line') !== mark) continue;
    if (s.x.length !== s.y.length)
      throw new Error(`lineChart: series '${s.name}' has ${s.x.length} x, ${s.y.length} y`);
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) out.push({ [mark]: s.name, x, y, i });
    });
  }
  return out;
}

/** Builds the Vega-Lite spec of a line chart (see {@link lineChart}). */
export function lineChartSpec(options: LineChartOptions): TopLevelSpec {
  const logY = options.logY ?? false;
  const names = options.series.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error('lineChart: series names must be unique');
  const colorOf = (name: string) => PALETTE[names.indexOf(name) % PALETTE.length];
  const legendScale = (mark: 'line' | 'point') => {
    const domain = options.series.filter((s) => (s.mark ?? 'line') === mark).map((s) => s.name);
    return { domain, range: domain.map(colorOf) };
  };
  const x = { field: 'x', type: 'quantitative', title: options.xLabel, scale: { zero: false } };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: options.yLabel,
    scale: logY ? { type: 'log' } : { zero: false },
    axis: logY ? { format: '~g' } : {},
  };
  const layer = [];
  const points = rows(options.series, 'point', logY);
  if (points.length) {
    layer.push({
      data: { values: points },
      mark: { type: 'point', filled: true, size: 22, opacity: 0.75, strokeWidth: 0 },
      encoding: {
        x,
        y,
        fill: {
          field: 'point',
          type: 'nominal',
          scale: legendScale('point'),
          legend: { title: null, symbolType: 'circle', labelLimit: 320 },
        },
      },
    });
  }
  const lines = rows(options.series, 'line', logY);
  if (lines.length) {
    layer.push({
      data: { values: lines },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x,
        y,
        stroke: {
          field: 'line',
          type: 'nominal',
          scale: legendScale('line'),
          legend: { title: null, symbolType: 'stroke', labelLimit: 320 },
        },
        order: { field: 'i', type: 'quantitative' },
      },
    });
  }
  if (!layer.length) throw new Error('lineChart: no finite points to draw');
  return {
    title: options.title,
    width: options.width ?? 480,
    height: options.height ?? 300,
    layer,
  } as TopLevelSpec;
}

/**
 * Draws several named series in one chart with a colour legend — lines, or dots for series with
 * `mark: 'point'` (e.g. training data under fitted curves) — and writes the PNG to `path`
 * (parent directories are created). Non-finite points are skipped.
 *
 * @returns `path`.
 */
export async function lineChart(path: string, options: LineChartOptions): Promise<string> {
  return writePng(path, lineChartSpec(options));
}
