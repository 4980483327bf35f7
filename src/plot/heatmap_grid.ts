import type { TopLevelSpec } from 'vega-lite';
import { heatmapSize, indexEncoding, matrixCells, matrixShape } from './cells.js';
import { PNG_SCALE } from './render.js';
import { writePng } from './write.js';

/** One panel of {@link heatmapGrid}. */
export interface HeatmapPanel {
  title: string;
  /** `values[row][col]`, row 0 drawn on top. */
  values: number[][];
  /** Labels for this panel's columns and rows (one per index), replacing the indices on its axes. */
  xTicks?: ReadonlyArray<string | number>;
  yTicks?: ReadonlyArray<string | number>;
}

/** Options of {@link heatmapGrid}. */
export interface HeatmapGridOptions {
  title: string;
  panels: HeatmapPanel[];
  /** x-axis title, shown under the bottom row of panels. */
  xLabel: string;
  /** y-axis title, shown left of the first column of panels. */
  yLabel: string;
  /** Panels per row; default all in one row. */
  columns?: number;
  /** A Vega colour scheme name; default 'reds'. */
  colorScheme?: string;
  /** Title of the shared colour legend; none by default. */
  colorLabel?: string;
  /** Size of each panel's plot area in CSS px; defaults keep each matrix's aspect ratio. */
  panelWidth?: number;
  panelHeight?: number;
}

/** Builds the Vega-Lite spec of a heatmap grid (see {@link heatmapGrid}). */
export function heatmapGridSpec(options: HeatmapGridOptions): TopLevelSpec {
  const { panels } = options;
  if (panels.length === 0) throw new Error('heatmapGrid: no panels');
  const columns = Math.max(1, Math.min(options.columns ?? panels.length, panels.length));
  const rowsOfPanels = Math.ceil(panels.length / columns);
  const views = panels.map((panel, k) => {
    const { rows, cols } = matrixShape(panel.values);
    const size = heatmapSize(rows, cols, 220);
    const width = options.panelWidth ?? size.width;
    const height = options.panelHeight ?? size.height;
    const bottom = Math.floor(k / columns) === rowsOfPanels - 1 || k + columns >= panels.length;
    const x = indexEncoding('x0', 'x1', cols, bottom ? options.xLabel : null, panel.xTicks, false);
    const y = indexEncoding('y0', 'y1', rows, k % columns === 0 ? options.yLabel : null, panel.yTicks, true);
    return {
      title: { text: panel.title, fontSize: 12 },
      width,
      height,
      data: { values: matrixCells(panel.values, height * PNG_SCALE, width * PNG_SCALE) },
      mark: { type: 'rect', tooltip: false },
      encoding: {
        x: x.main,
        x2: x.second,
        y: y.main,
        y2: y.second,
        color: {
          field: 'v',
          type: 'quantitative',
          scale: { scheme: options.colorScheme ?? 'reds' },
          legend: { title: options.colorLabel ?? null },
        },
      },
    };
  });
  return {
    title: { text: options.title, anchor: 'middle' },
    columns,
    concat: views,
    resolve: { scale: { color: 'shared' }, legend: { color: 'shared' } },
  } as TopLevelSpec;
}

/**
 * Draws several matrices as heatmaps side by side (wrapping after `columns`) sharing one colour
 * scale and legend, like d2l's `show_heatmaps` for the heads of multi-head attention, and writes
 * the PNG to `path` (parent directories are created).
 *
 * @returns `path`.
 */
export async function heatmapGrid(path: string, options: HeatmapGridOptions): Promise<string> {
  return writePng(path, heatmapGridSpec(options), { crispEdges: true });
}
