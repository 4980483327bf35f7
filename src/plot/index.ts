/**
 * Charts rendered to PNG files: Vega-Lite specs compiled by `vega-lite`, drawn to SVG by a headless
 * `vega` view, rasterised by `@resvg/resvg-js` with the system's DejaVu fonts.
 */
export { toPng, FONT, PNG_SCALE, type PngOptions } from './render.js';
export { writePng } from './write.js';
export { lineChart, lineChartSpec, type LineChartOptions, type Series } from './line.js';
export { heatmap, heatmapSpec, type HeatmapOptions } from './heatmap.js';
export { heatmapGrid, heatmapGridSpec, type HeatmapGridOptions, type HeatmapPanel } from './heatmap_grid.js';
