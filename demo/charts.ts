/**
 * The live plots: Vega-Lite specs compiled to Vega and drawn by a Vega View (canvas renderer). The loss chart
 * keeps one View and streams points into its named data set; the heatmap is rebuilt when its labels change and
 * otherwise gets new cell values the same way.
 */
import { View, changeset, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

type Row = Record<string, number | string>;

function mount(container: HTMLElement, spec: TopLevelSpec): View {
  container.textContent = '';
  // resize: the layout is recomputed on every data change, so axes whose labels widen (the loss's first points,
  // say) are not clipped by the size computed for the empty chart.
  const withResize = { ...spec, autosize: { type: 'pad', resize: true } } as TopLevelSpec;
  return new View(parse(compile(withResize).spec), { renderer: 'canvas', container, hover: true });
}

/** Replaces every row of the View's `name` data set and redraws. */
async function replace(view: View, name: string, rows: Row[]): Promise<void> {
  await view
    .change(
      name,
      changeset()
        .remove(() => true)
        .insert(rows),
    )
    .runAsync();
}

/**
 * The loss chart of a run of `epochs` epochs: x spans the whole run from the start (so the curve grows toward a
 * fixed end), its ticks are whole epochs (`tickMinStep` 1, integer labels; with one point or a short run Vega
 * would otherwise label 1.000000 or 0.5); y on a log scale.
 */
export function lossChartSpec(model: string, yLabel: string, epochs: number): TopLevelSpec {
  return {
    title: `${model}: training loss`,
    width: 420,
    height: 260,
    data: { name: 'loss' },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        // Epoch 0 is the start: a one-epoch run gets the ticks 0 and 1 rather than a degenerate [1, 1].
        scale: { domain: [0, Math.max(1, epochs)], nice: false },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: { field: 'loss', type: 'quantitative', title: yLabel, scale: { type: 'log' } },
    },
  };
}

/** Loss per epoch of the current run; y on a log scale. */
export class LossChart {
  private view: View | null = null;
  private rows: Row[] = [];

  constructor(private readonly container: HTMLElement) {}

  /** Starts an empty chart titled for `model`, its x axis spanning `epochs`. */
  async reset(model: string, yLabel: string, epochs: number): Promise<void> {
    this.view?.finalize();
    this.rows = [];
    this.view = mount(this.container, lossChartSpec(model, yLabel, epochs));
    await this.view.runAsync();
  }

  async add(epoch: number, loss: number): Promise<void> {
    if (!this.view || !(loss > 0)) return;
    this.rows.push({ epoch, loss });
    await replace(this.view, 'loss', this.rows);
  }

  finalize(): void {
    this.view?.finalize();
    this.view = null;
  }
}

/** A matrix to draw: values[row][col]; rows run down the y axis. */
export interface HeatmapData {
  title: string;
  values: number[][];
  xLabels: string[];
  yLabels: string[];
  xTitle: string;
  yTitle: string;
  /** Legend title (default 'weight'). */
  colorTitle?: string;
}

/** A Vega expression that maps an axis index to its label (labels may repeat, so the axis keys on indices). */
const labelExpr = (labels: string[]) => `${JSON.stringify(labels)}[datum.value]`;

/** Matrix heatmap with axis titles, token labels and a colour legend ('reds', as d2l's `show_heatmaps`). */
export class HeatmapChart {
  private view: View | null = null;
  private key = '';

  constructor(private readonly container: HTMLElement) {}

  async draw(map: HeatmapData): Promise<void> {
    const rows = map.values.length;
    const cols = map.values[0]?.length ?? 0;
    const cells: Row[] = map.values.flatMap((r, y) => r.map((v, x) => ({ x, y, v })));
    const key = JSON.stringify([map.title, map.xLabels, map.yLabels, map.xTitle, map.yTitle, map.colorTitle]);
    if (this.view && key === this.key) return replace(this.view, 'cells', cells);
    this.view?.finalize();
    this.key = key;
    const cell = Math.max(6, Math.min(40, Math.floor(360 / Math.max(rows, cols, 1))));
    const spec: TopLevelSpec = {
      title: map.title,
      data: { name: 'cells' },
      width: cell * cols,
      height: cell * rows,
      mark: { type: 'rect', tooltip: true },
      encoding: {
        x: {
          field: 'x',
          type: 'ordinal',
          title: map.xTitle,
          axis: { labelExpr: labelExpr(map.xLabels), labelAngle: -45, labelOverlap: true },
        },
        y: {
          field: 'y',
          type: 'ordinal',
          title: map.yTitle,
          axis: { labelExpr: labelExpr(map.yLabels), labelOverlap: true },
        },
        color: {
          field: 'v',
          type: 'quantitative',
          title: map.colorTitle ?? 'weight',
          scale: { scheme: 'reds' },
        },
      },
      config: { view: { stroke: null } },
    };
    this.view = mount(this.container, spec);
    await replace(this.view, 'cells', cells);
  }

  clear(text: string): void {
    this.view?.finalize();
    this.view = null;
    this.key = '';
    this.container.textContent = text;
  }
}
