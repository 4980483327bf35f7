import { Resvg } from '@resvg/resvg-js';
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Font family every chart is drawn in; DejaVu ships with Debian and is loaded from the system fonts. */
export const FONT = 'DejaVu Sans';

/** Default pixel density of the PNGs: device pixels per CSS px of the spec. */
export const PNG_SCALE = 2;

/** Chart-wide Vega-Lite config: fonts, white background and a little padding. */
const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  title: { fontSize: 15 },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
} as const;

/** How {@link toPng} rasterises the chart. */
export interface PngOptions {
  /** Pixel density: 2 (the default) gives a crisp image at twice the spec's size. */
  scale?: number;
  /** Turn off shape anti-aliasing, so abutting heatmap cells show no hairline seams. Default false. */
  crispEdges?: boolean;
}

/**
 * Renders a Vega-Lite spec to PNG bytes: Vega-Lite compiles it to Vega, a headless Vega view
 * (`renderer: 'none'`) writes SVG, and resvg rasterises that SVG with the system fonts.
 *
 * @param spec - a complete Vega-Lite spec; its `config` is merged over the module's defaults.
 * @returns the PNG file's bytes.
 */
export async function toPng(spec: TopLevelSpec, options: PngOptions = {}): Promise<Buffer> {
  const { scale = PNG_SCALE, crispEdges = false } = options;
  const withConfig = { ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec;
  const view = new View(parse(compile(withConfig).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const resvg = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
      fitTo: { mode: 'zoom', value: scale },
      shapeRendering: crispEdges ? 1 : 2,
    });
    return resvg.render().asPng();
  } finally {
    view.finalize();
  }
}
