/** One rectangle of a heatmap, in matrix-index units (cell `i` spans `i - 0.5 .. i + 0.5`). */
export interface Cell {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Cell value (the mean over the block when binned); null when no finite value fell in it. */
  v: number | null;
}

/** Checks that `values` is a non-empty rectangular matrix and returns its shape. */
export function matrixShape(values: number[][]): { rows: number; cols: number } {
  const rows = values.length;
  const cols = rows > 0 ? values[0].length : 0;
  if (rows === 0 || cols === 0) throw new Error('heatmap: values must be a non-empty matrix');
  for (const row of values) {
    if (row.length !== cols)
      throw new Error(`heatmap: ragged matrix (row lengths ${cols} and ${row.length})`);
  }
  return { rows, cols };
}

/**
 * Turns a matrix into heatmap cells, averaging blocks of neighbouring entries so that at most
 * `maxRows × maxCols` cells are drawn (callers pass the plot's size in PNG pixels,
 * so nothing visible is lost and huge matrices stay fast).
 * Block edges stay in original index units, so axes still read as row/column indices.
 */
export function matrixCells(values: number[][], maxRows: number, maxCols: number): Cell[] {
  const { rows, cols } = matrixShape(values);
  const rowStep = Math.max(1, Math.ceil(rows / Math.max(1, Math.floor(maxRows))));
  const colStep = Math.max(1, Math.ceil(cols / Math.max(1, Math.floor(maxCols))));
  const cells: Cell[] = [];
  for (let r = 0; r < rows; r += rowStep) {
    const rEnd = Math.min(rows, r + rowStep);
    for (let c = 0; c < cols; c += colStep) {
      const cEnd = Math.min(cols, c + colStep);
      let sum = 0;
      let count = 0;
      for (let i = r; i < rEnd; i++) {
        for (let j = c; j < cEnd; j++) {
          const x = values[i][j];
          if (Number.isFinite(x)) {
            sum += x;
            count++;
          }
        }
      }
      cells.push({ x0: c - 0.5, x1: cEnd - 0.5, y0: r - 0.5, y1: rEnd - 0.5, v: count ? sum / count : null });
    }
  }
  return cells;
}

/** Default plot size for a `rows × cols` matrix: aspect ratio kept, longest side `longSide`, shortest ≥ a third. */
export function heatmapSize(rows: number, cols: number, longSide: number): { width: number; height: number } {
  const unit = longSide / Math.max(rows, cols);
  const minSide = Math.round(longSide / 3);
  return {
    width: Math.max(minSide, Math.round(cols * unit)),
    height: Math.max(minSide, Math.round(rows * unit)),
  };
}

/** Up to this many rows/columns every index gets a tick; beyond it Vega picks round integer ticks. */
const EVERY_TICK_LIMIT = 25;

/**
 * Vega-Lite position encoding for a matrix index axis: a quantitative scale spanning
 * `-0.5 .. n - 0.5` (imshow convention), integer ticks, and optional tick labels replacing indices.
 *
 * @param field - the cell field holding the low edge (`x0`/`y0`); the high edge is `field2`.
 * @param reverse - true for the row axis, so row 0 is at the top.
 */
export function indexEncoding(
  field: string,
  field2: string,
  n: number,
  title: string | null,
  ticks: ReadonlyArray<string | number> | undefined,
  reverse: boolean,
): { main: Record<string, unknown>; second: Record<string, unknown> } {
  if (ticks && ticks.length !== n) throw new Error(`heatmap: ${ticks.length} tick labels for ${n} indices`);
  const axis: Record<string, unknown> = {
    title,
    grid: false,
    labelOverlap: true,
    format: 'd',
    tickMinStep: 1,
  };
  if (n <= EVERY_TICK_LIMIT) axis.values = Array.from({ length: n }, (_, i) => i);
  if (ticks) {
    axis.labelExpr = `${JSON.stringify(ticks.map(String))}[datum.value] || ''`;
    if (!reverse && ticks.some((t) => String(t).length > 3)) axis.labelAngle = -45;
  }
  return {
    main: {
      field,
      type: 'quantitative',
      scale: { domain: [-0.5, n - 0.5], nice: false, zero: false, reverse },
      axis,
    },
    second: { field: field2 },
  };
}
