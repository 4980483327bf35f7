/**
 * The live plots: Vega-Lite specs compiled to Vega and drawn by a Vega View (canvas renderer), built over several
 * tasks. The loss chart keeps one View per run and streams points into its named data set; the heatmap is rebuilt
 * when its labels change and otherwise gets new cell values the same way.
 */
import { View, changeset, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

type Row = Record<string, number | string>;

/** A macrotask: lets the page handle input and paint between two parts of a chart's construction. */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A container and the View drawn in it. `mount` builds the View over several tasks: compiling, parsing, building
 * the dataflow and the first run each take one (tens of milliseconds on a busy CPU, more the first time, before
 * the JIT has compiled Vega), so that no single task holds the page's main thread for long while a run trains.
 * A later `mount` or `clear` supersedes a mount still in progress, which then leaves the container alone.
 */
class Slot {
  view: View | null = null;
  private generation = 0;

  constructor(readonly container: HTMLElement) {}

  /** @returns the View, not yet run, or null when superseded meanwhile. */
  async mount(spec: TopLevelSpec): Promise<View | null> {
    const generation = this.clear();
    // resize: the layout is recomputed on every data change, so axes whose labels widen (the loss's first points,
    // say) are not clipped by the size computed for the empty chart.
    const withResize = { ...spec, autosize: { type: 'pad', resize: true } } as TopLevelSpec;
    const vega = compile(withResize).spec;
    await turn();
    if (generation !== this.generation) return null;
    const runtime = parse(vega);
    await turn();
    if (generation !== this.generation) return null;
    this.container.textContent = '';
    const view = new View(runtime, { renderer: 'canvas', container: this.container, hover: true });
    this.view = view;
    await turn();
    return generation === this.generation ? view : null;
  }

  /** Ends the View and any mount in progress. @returns the new generation. */
  clear(): number {
    this.view?.finalize();
    this.view = null;
    return ++this.generation;
  }
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
  private readonly slot: Slot;
  private rows: Row[] = [];

  constructor(container: HTMLElement) {
    this.slot = new Slot(container);
  }

  /** Starts an empty chart titled for `model`, its x axis spanning `epochs`. */
  async reset(model: string, yLabel: string, epochs: number): Promise<void> {
    this.rows = [];
    const view = await this.slot.mount(lossChartSpec(model, yLabel, epochs));
    await view?.runAsync();
  }

  async add(epoch: number, loss: number): Promise<void> {
    if (!this.slot.view || !(loss > 0)) return;
    this.rows.push({ epoch, loss });
    await replace(this.slot.view, 'loss', this.rows);
  }

  finalize(): void {
    this.slot.clear();
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
  private readonly slot: Slot;
  private key = '';

  constructor(container: HTMLElement) {
    this.slot = new Slot(container);
  }

  async draw(map: HeatmapData): Promise<void> {
    const rows = map.values.length;
    const cols = map.values[0]?.length ?? 0;
    const cells: Row[] = map.values.flatMap((r, y) => r.map((v, x) => ({ x, y, v })));
    const key = JSON.stringify([map.title, map.xLabels, map.yLabels, map.xTitle, map.yTitle, map.colorTitle]);
    if (this.slot.view && key === this.key) return replace(this.slot.view, 'cells', cells);
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
    const view = await this.slot.mount(spec);
    if (view) await replace(view, 'cells', cells);
  }

  clear(text: string): void {
    this.slot.clear();
    this.key = '';
    this.slot.container.textContent = text;
  }
}
