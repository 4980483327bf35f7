/**
 * Charts rendered to PNG files: Vega-Lite specs compiled by `vega-lite`, drawn to SVG by a headless
 * `vega` view, rasterised by `@resvg/resvg-js` with the system's DejaVu fonts.
 */
export { toPng, FONT, PNG_SCALE, type PngOptions } from './render';
export { writePng } from './write';
export { lineChart, lineChartSpec, type LineChartOptions, type Series } from './line';
export { heatmap, heatmapSpec, type HeatmapOptions } from './heatmap';
export { heatmapGrid, heatmapGridSpec, type HeatmapGridOptions, type HeatmapPanel } from './heatmap_grid';
