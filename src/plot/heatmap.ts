import type { TopLevelSpec } from 'vega-lite';
import { heatmapSize, indexEncoding, matrixCells, matrixShape } from './cells.js';
import { PNG_SCALE } from './render.js';
import { writePng } from './write.js';

/** Options of {@link heatmap}. */
export interface HeatmapOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** The matrix: `values[row][col]`; rows run down the y axis (row 0 on top), columns along x. */
  values: number[][];
  /** Labels for the columns (one per column), replacing the indices on the x axis. */
  xTicks?: ReadonlyArray<string | number>;
  /** Labels for the rows (one per row), replacing the indices on the y axis. */
  yTicks?: ReadonlyArray<string | number>;
  /** A Vega colour scheme name, e.g. 'reds' (default, like d2l), 'viridis', 'blues', 'redblue'. */
  colorScheme?: string;
  /** Title of the colour legend; none by default. */
  colorLabel?: string;
  /** Plot area size in CSS px (the PNG is twice that); defaults keep the matrix's aspect ratio. */
  width?: number;
  height?: number;
}

/**
 * Builds the Vega-Lite spec of a heatmap (see {@link heatmap}). Matrices with more rows/columns
 * than the plot has pixels are block-averaged down to one cell per PNG pixel.
 */
export function heatmapSpec(options: HeatmapOptions): TopLevelSpec {
  const { rows, cols } = matrixShape(options.values);
  const size = heatmapSize(rows, cols, Math.max(rows, cols) > 2 * Math.min(rows, cols) ? 600 : 420);
  const width = options.width ?? size.width;
  const height = options.height ?? size.height;
  const x = indexEncoding('x0', 'x1', cols, options.xLabel, options.xTicks, false);
  const y = indexEncoding('y0', 'y1', rows, options.yLabel, options.yTicks, true);
  return {
    title: options.title,
    width,
    height,
    data: { values: matrixCells(options.values, height * PNG_SCALE, width * PNG_SCALE) },
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
        legend: { title: options.colorLabel ?? null, gradientLength: Math.max(80, Math.min(height, 240)) },
      },
    },
  } as TopLevelSpec;
}

/**
 * Draws a matrix as a rect heatmap with a colour-scale legend, like matplotlib's `imshow`
 * (row 0 at the top), and writes it as PNG to `path` (parent directories are created).
 *
 * @returns `path`.
 */
export async function heatmap(path: string, options: HeatmapOptions): Promise<string> {
  return writePng(path, heatmapSpec(options), { crispEdges: true });
}
